"""A small course with questions graded by hand: a written answer, a figure, and a question with
tests and a hand-graded part, built with the real command line."""
import base64
import io
import shutil

import nbformat
from conftest import Course, made_once, notebook
from PIL import Image

CONFIG = """title: "손실 곡선"
questions:
  - {id: q1, name: "1 제곱", points: 2}
  - {id: w1, name: "2 결과 분석", points: 5, manual: true, rubric: "곡선이 왜 내려가는지 설명", cells: [analysis, plot]}
  - {id: q2, name: "3 합계와 설명", points: 4, manual: true, manual_points: 1, rubric: "한 줄 설명", cells: [why]}
"""
PROBES = '''
from autograder.probes import Probes
probes = Probes()
probes.capture("square", "y")
probes.capture("total", "total")
'''
TESTS = '''
import pytest
from autograder.testing import expect_close

@pytest.mark.question("q1")
def test_y(student, reference):
    """y is x squared"""
    expect_close(student["square:y"], reference["square:y"], "y")

@pytest.mark.question("q2")
def test_total(student, reference):
    """the total"""
    expect_close(student["total:total"], reference["total:total"], "total")
'''
SOURCE = notebook(
    ("code", "import torch\nx = torch.tensor([1.0, 2.0, 3.0])"),
    ("code", "y = x ** 2  # SOLUTION"),
    ("code", "import matplotlib.pyplot as plt\nplt.figure(figsize=(3, 2))\nplt.plot([3.0, 2.0, 1.5])\nplt.show()"),
    ("md", "[ 여기에 답을 쓰세요 ]"),
    ("code", "total = y.sum()  # SOLUTION"),
    ("md", "[ 한 줄 설명 ]"),
)
for cell, cell_id in zip(SOURCE.cells, ["setup", "square", "plot", "analysis", "total", "why"]):
    cell.id = cell_id


def png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def build_course(root) -> Course:
    course = Course(root)
    course.add_graded("curves", SOURCE, CONFIG, PROBES, TESTS)
    course.build()
    return course


def built_copy(tmp_path_factory) -> Course:
    """A copy of the course, built once per test run (made_once: the build runs the solution), that the caller may
    change."""
    built = made_once(tmp_path_factory, "hand-course", build_course)
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(built, root, dirs_exist_ok=True)
    return Course(root)


def answered(course, path, analysis="손실이 줄어듭니다.", square="x ** 2"):
    nb = nbformat.read(course.student("curves"), 4)
    cells = {c.id: c for c in nb.cells}
    cells["square"].source = f"y = {square}"
    cells["total"].source = "total = y.sum()"
    cells["analysis"].source = analysis
    cells["plot"].outputs = [nbformat.v4.new_output("display_data", data={"image/png": png(), "text/plain": "<Figure>"})]
    nbformat.write(nb, path)
    return path
