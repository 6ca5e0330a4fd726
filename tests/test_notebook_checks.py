"""grader.check("b1") inside the student notebook: visible checks only, run by the student's own kernel."""
import json
import re

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

from autograder.notebook_check import Checker

SLUG = "attention_basics"
FOLDER = REPO / "assignments" / SLUG


def check_outputs(sample: str) -> dict[str, str]:
    nb = nbformat.read(REPO / "samples" / SLUG / f"{sample}.ipynb", 4)
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                   resources={"metadata": {"path": str(FOLDER)}}).execute()
    return {c.id: "".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.id.startswith("check-")}


def test_check_cells_follow_the_cells_they_check():
    ids = [c.id for c in nbformat.read(FOLDER / f"{SLUG}.ipynb", 4).cells if c.cell_type == "code"]
    assert ids[0] == "grader-setup"
    for cell, check in (("avg-loop", "check-b1"), ("avg-softmax", "check-b3"), ("qkv-output", "check-b4"),
                        ("saturation", "check-b8")):
        assert ids.index(check) == ids.index(cell) + 1


def test_only_checks_of_visible_tests_alone_are_shipped():
    questions = json.loads((FOLDER / f"{SLUG}_checks.json").read_text())["questions"]
    # b5 and b6 are graded by hidden tests only, b9's visible test shares its values with hidden ones.
    assert sorted(questions) == ["b1", "b2", "b3", "b4", "b7", "b8"]
    assert all(set(check) == {"cell", "variable", "value"} for q in questions.values() for check in q["checks"])


def test_a_correct_notebook_passes_every_check_in_its_own_kernel():
    outputs = check_outputs("correct")
    assert len(outputs) == 6
    assert all(" checks passed" in text and "- " not in text for text in outputs.values())
    assert all(text.split(": ")[-1].split(" of ")[0] == text.split(" of ")[1].split(" ")[0] for text in outputs.values())


def test_a_mistake_fails_the_checks_of_its_questions_with_what_differs():
    outputs = check_outputs("wrong_mask_direction")
    failed = {cell for cell, text in outputs.items() if "\n  - " in text}
    assert failed == {"check-b2", "check-b3"}
    assert "largest difference" in outputs["check-b2"]


def test_without_the_checks_file_a_check_does_nothing(tmp_path):
    assert Checker(str(tmp_path / "missing.json")).check("b1", {}) is True


def test_an_unknown_question_is_named():
    with pytest.raises(KeyError, match="no checks for question 'b9'"):
        Checker(str(FOLDER / f"{SLUG}_checks.json")).check("b9", {})


@pytest.mark.parametrize("sample, code, failing", [("correct", 0, []), ("wrong_mask_direction", 1, ["1.2", "1.3"])])
def test_check_in_a_students_repository_without_the_course(tmp_path, sample, code, failing):
    """Only the notebook and its checks file, as in a GitHub Classroom repository."""
    import shutil
    import subprocess
    import sys

    shutil.copy(FOLDER / f"{SLUG}_checks.json", tmp_path)
    shutil.copy(REPO / "samples" / SLUG / f"{sample}.ipynb", tmp_path / "my_notebook.ipynb")
    result = subprocess.run([sys.executable, "-m", "autograder", "check", "my_notebook.ipynb"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == code, result.stdout + result.stderr
    counts = [(line.split(" ")[0], re.search(r"검사 (\d+)개 중 (\d+)개 통과", line)) for line in result.stdout.splitlines()]
    failed = [number for number, found in counts if found and found.group(1) != found.group(2)]
    assert failed == failing
    assert "숨은 테스트는 제출한 노트북을 채점할 때 실행되며" in result.stdout
