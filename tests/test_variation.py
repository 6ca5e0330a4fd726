"""The lesson data the grader varies (lesson_data in assignment.yaml): what it changes, and the
mistakes in marking cells that stop a batch before grading."""
import ast
import random
import shutil

import pytest
from conftest import REPO

from autograder.engine.variation import NothingToVary, vary_source
from autograder.errors import AutograderError
from autograder.scoring.grader import load_assignment

CELL = """import torch

inputs = torch.tensor(
  [[0.43, 0.15, 0.89], # Your     (x^1)
   [0.55, 0.87, 0.66], # journey  (x^2)
   [-0.05, 0.80, 0.55]] # step
)
torch.manual_seed(1441)
Q = torch.tensor([[1, 0], [0, 1]], dtype=torch.float32)
ids = torch.tensor([3, 1, 2])
label = "torch.tensor([1.0])"  # 한국어 주석도 그대로
"""


def literals(source):
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and node.value.args:
            found[node.targets[0].id] = ast.literal_eval(node.value.args[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "manual_seed":
            found["seed"] = ast.literal_eval(node.args[0])
    return found


def shape(value):
    return [len(value), *shape(value[0])] if isinstance(value, (list, tuple)) else []


def test_tensors_and_seeds_get_other_values_of_the_same_shape_kind_and_range():
    before, after = literals(CELL), literals(vary_source(CELL, random.Random(0)))
    assert after["seed"] != before["seed"]
    for name in ("inputs", "Q", "ids"):
        assert after[name] != before[name]
        assert shape(after[name]) == shape(before[name])
    flat = [x for row in after["inputs"] for x in row]
    assert all(isinstance(x, float) and -0.05 <= x <= 0.89 for x in flat)
    assert all(isinstance(x, float) for row in after["Q"] for x in row)  # dtype=float32: floats, not 0/1
    assert all(isinstance(x, int) and 1 <= x <= 3 for x in after["ids"])
    varied = vary_source(CELL, random.Random(0))
    assert 'label = "torch.tensor([1.0])"  # 한국어 주석도 그대로' in varied  # text is not code
    assert varied == vary_source(CELL, random.Random(0))  # the same seeds, the same data


def test_a_cell_with_nothing_to_vary_is_refused():
    with pytest.raises(NothingToVary, match="no torch.manual_seed"):
        vary_source("d_out = 2\nx = torch.rand(3, 4)", random.Random(0))


@pytest.fixture
def course(tmp_path):
    for name in ("assignments", "solutions", "graders"):
        shutil.copytree(REPO / name / "lec27_attention" if name != "solutions" else REPO / name,
                        tmp_path / name / ("lec27_attention" if name != "solutions" else ""), dirs_exist_ok=True)
    return tmp_path


@pytest.mark.parametrize("cells, words", [
    ("[dot-loop]", "cell 'dot-loop' is an answer cell"),
    ("[no-such-cell]", "has no code cell 'no-such-cell'"),
    ("[dims]", "cannot vary cell 'dims': it has no torch.manual_seed"),
])
def test_marking_mistakes_stop_before_grading_and_name_the_file(course, cells, words):
    config = course / "assignments" / "lec27_attention" / "assignment.yaml"
    config.write_text(config.read_text().replace("lesson_data: [inputs]", f"lesson_data: {cells}"))
    with pytest.raises(AutograderError) as error:
        load_assignment(course, "lec27_attention")
    assert words in str(error.value) and "assignment.yaml" in str(error.value)
