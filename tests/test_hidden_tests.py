"""A small course end to end: hidden tests as written by an instructor, partial credit, and the
grader's own mistakes reported as such (exit 3), never blamed on the students."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import Course, notebook

CONFIG = """title: Squares
questions:
  - {id: q1, name: "Square a tensor", points: 3}
  - {id: q2, name: "Sum of squares", points: 1}
"""
PROBES = '''
import torch
from autograder.probes import Probes, need
probes = Probes()
probes.capture("square", "y")
probes.capture("total-cell", "total")

@probes.at_end
def square_unseen(ns):
    return need(ns, "square")(torch.arange(4.0))
'''
TESTS = '''
import pytest
from autograder.testing import expect_close

@pytest.mark.question("q1")
def test_y(student, reference):
    """y is x squared"""
    expect_close(student["square:y"], reference["square:y"], "y")

@pytest.mark.question("q1")
@pytest.mark.hidden
@pytest.mark.weight(2)
def test_square_unseen(student, reference):
    """square() on other numbers"""
    expect_close(student["square_unseen"], reference["square_unseen"], "square")

@pytest.mark.question("q2")
def test_total(student, reference):
    """the total"""
    expect_close(student["total-cell:total"], reference["total-cell:total"], "total")
'''
SOURCE = notebook(
    ("code", "import torch\nx = torch.tensor([1.0, 2.0, 3.0])"),
    ("code", "def square(t):\n    return t ** 2  # SOLUTION\n\ny = square(x)\nprint(y)"),
    ("code", "total = y.sum()  # SOLUTION"),
)
SOURCE.cells[0].id = "data"
SOURCE.cells[1].id = "square"
SOURCE.cells[2].id = "total-cell"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.add_graded("squares", SOURCE, CONFIG, PROBES, TESTS)
    course.build()
    return course


def submission(course, folder, name, square, total="y.sum()"):
    nb = nbformat.read(course.student("squares"), 4)
    nb.cells[1].source = nb.cells[1].source.replace("return ### your code", f"return {square}")
    nb.cells[2].source = f"total = {total}"
    nbformat.write(nb, folder / name)
    return folder / name


def test_partial_credit_is_shared_by_test_weight(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    submission(course, subs, "right.ipynb", "t ** 2")
    # Right for the lesson's x, wrong in general: only the visible test passes (weight 1 of 3).
    submission(course, subs, "hardcoded.ipynb", "torch.tensor([1.0, 4.0, 9.0])")
    submission(course, subs, "broken_total.ipynb", "t * t", total="y.sum() / 0 + undefined")
    result = course.run("grade", "squares", str(subs), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rows = {r["submission"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert (rows["right.ipynb"]["score"], rows["right.ipynb"]["q1"], rows["right.ipynb"]["q2"]) == ("4", "3", "1")
    assert (rows["hardcoded.ipynb"]["q1"], rows["hardcoded.ipynb"]["q2"]) == ("1", "1")
    assert (rows["broken_total.ipynb"]["q1"], rows["broken_total.ipynb"]["q2"]) == ("3", "0")
    feedback = (tmp_path / "out" / "broken_total" / "feedback.md").read_text()
    assert "total could not be checked: cell `total = y.sum() / 0 + undefined` raised NameError" in feedback


def grade_edited(course, tmp_path, name, old, new):
    """Grade the solution with one grader file of a copy of the course edited."""
    root = tmp_path / "copy"
    shutil.copytree(course.root, root)
    path = root / "graders" / "squares" / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    return Course(root).run("grade", "squares", str(course.student("squares")), "--out", str(tmp_path / "out"))


def test_a_hidden_test_failing_on_the_solution_is_a_grader_error(course, tmp_path):
    result = grade_edited(course, tmp_path, "test_squares.py",
                          'expect_close(student["total-cell:total"], reference["total-cell:total"], "total")',
                          'assert False, "oops"')
    assert result.returncode == 3
    assert "hidden test test_total fails on the solution itself: oops" in result.stderr


@pytest.mark.parametrize("edit, words", [
    (('@pytest.mark.question("q2")', '@pytest.mark.question("q9")'), "test_total is marked for question 'q9'"),
    (('@pytest.mark.question("q2")\n', ""), "test_total needs @pytest.mark.question"),
    (("def test_total(student, reference)", "def test_total(student, solution)"), "asks for solution"),
])
def test_mistakes_in_hidden_tests_name_the_file_and_line(course, tmp_path, edit, words):
    result = grade_edited(course, tmp_path, "test_squares.py", *edit)
    assert result.returncode == 2
    assert result.stderr.startswith("error: graders/squares/test_squares.py: line ")
    assert words in result.stderr


def test_probe_after_a_cell_the_notebook_lacks_is_reported(course, tmp_path):
    result = grade_edited(course, tmp_path, "probes.py", 'probes.capture("square", "y")', 'probes.capture("nope", "y")')
    assert result.returncode == 2 and "a probe runs after cell 'nope'" in result.stderr


def test_a_test_asking_for_a_probe_that_does_not_exist_is_a_grader_error(course, tmp_path):
    result = grade_edited(course, tmp_path, "test_squares.py", 'student["total-cell:total"]', 'student["totl"]')
    assert result.returncode == 3 and "no probe named 'totl' in probes.py" in result.stderr


@pytest.mark.parametrize("mark", ["skip", "xfail", "skipif(True, reason='later')"])
def test_a_mark_that_would_make_points_vanish_is_refused(course, tmp_path, mark):
    result = grade_edited(course, tmp_path, "test_squares.py", '@pytest.mark.question("q2")\n',
                          f'@pytest.mark.question("q2")\n@pytest.mark.{mark}\n')
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: graders/squares/test_squares.py: line ")
    assert f"test_total is marked '{mark.split('(')[0]}'" in result.stderr and "vanish" in result.stderr


def test_a_plain_assert_is_explained_as_pytest_explains_it(course, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(course.root, root)
    tests = root / "graders" / "squares" / "test_squares.py"
    tests.write_text(tests.read_text().replace(
        'expect_close(student["total-cell:total"], reference["total-cell:total"], "total")',
        'assert float(student["total-cell:total"]) == float(reference["total-cell:total"])'))
    subs = tmp_path / "subs"
    subs.mkdir()
    submission(course, subs, "off.ipynb", "t ** 2", total="y.sum() * 2")
    result = Course(root).run("grade", "squares", str(subs), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    feedback = (tmp_path / "out" / "off" / "feedback.md").read_text()
    assert "assert 28.0 == 14.0" in feedback and "where 28.0 = float(" in feedback


def test_each_case_of_a_parametrized_test_is_graded_on_its_own(course, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(course.root, root)
    (root / "graders" / "squares" / "test_cases.py").write_text(
        'import pytest\n\n'
        '@pytest.mark.question("q2")\n@pytest.mark.parametrize("position", [0, 2])\n'
        'def test_y_at(student, reference, position):\n    """y at one position"""\n'
        '    assert float(student["square:y"][position]) == float(reference["square:y"][position])\n')
    subs = tmp_path / "subs"
    subs.mkdir()
    submission(course, subs, "right.ipynb", "t ** 2")
    submission(course, subs, "first_only.ipynb", "t ** 2 - (t - 1) * 3")  # right for 1.0 only
    result = Course(root).run("grade", "squares", str(subs), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    names = [t["name"] for t in json.loads((tmp_path / "out" / "first_only" / "results.json").read_text())["tests"]]
    assert "Sum of squares: y at one position [0]" in names and "Sum of squares: y at one position [2]" in names
    rows = {r["submission"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert rows["right.ipynb"]["q2"] == "1"
    # q2: the total (weight 1, wrong here too) and the two cases: only the case at position 0 passes.
    assert rows["first_only.ipynb"]["q2"] == "0.3333"


def test_pytest_runs_the_hidden_tests_through_the_plugin(course, tmp_path):
    def pytest_on(*extra):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "graders/squares", *extra],
                              cwd=course.root, capture_output=True, text=True, timeout=300)

    on_solution = pytest_on()
    assert on_solution.returncode == 0 and "3 passed" in on_solution.stdout, on_solution.stdout[-2000:]
    subs = tmp_path / "subs"
    subs.mkdir()
    wrong = submission(course, subs, "wrong_total.ipynb", "t ** 2", total="y.sum() + 1")
    on_wrong = pytest_on("--submission", str(wrong))
    assert on_wrong.returncode == 1 and "1 failed, 2 passed" in on_wrong.stdout, on_wrong.stdout[-2000:]
    assert "test_total - AssertionError: total:" in on_wrong.stdout


def test_pytest_and_check_grade_a_typed_back_step_as_grade_does(course, tmp_path):
    """With the lesson's x marked as lesson data, y typed back from the printout passes the first run
    only: `pytest --submission` and `autograder check` fail its steps as `grade` does (second run)."""
    root = tmp_path / "copy"
    shutil.copytree(course.root, root)
    config = root / "assignments" / "squares" / "assignment.yaml"
    config.write_text(config.read_text() + "lesson_data: [data]\n")
    copy = Course(root)
    subs = tmp_path / "subs"
    subs.mkdir()
    typed = submission(copy, subs, "typed.ipynb", "torch.tensor([1.0, 4.0, 9.0])")  # y as printed
    right = submission(copy, subs, "right.ipynb", "t ** 2")
    graded = copy.run("grade", "squares", str(subs), "--out", str(tmp_path / "out"))
    assert graded.returncode == 0, graded.stderr
    tests = json.loads((tmp_path / "out" / "typed" / "results.json").read_text())["tests"]
    failed_in_grade = sorted(t["name"] for t in tests if t["score"] < t["max_score"])
    assert len(failed_in_grade) == 3  # the hidden test, and the two steps the second run takes back

    def pytest_on(notebook):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "graders/squares",
                               "--submission", str(notebook)], cwd=root, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "COLUMNS": "200"})  # the summary lines keep their messages

    on_typed = pytest_on(typed)
    assert on_typed.returncode == 1 and "3 failed" in on_typed.stdout, on_typed.stdout[-3000:]
    summary = [line for line in on_typed.stdout.splitlines() if line.startswith("FAILED")]
    assert [line.split("::")[1].split(" ")[0] for line in summary] == ["test_y", "test_square_unseen", "test_total"]
    assert [line for line in summary if "Failed: correct on the" in line] == [summary[0], summary[2]]
    # Counted in the failures' own sections: the short summary repeats the message as far as the terminal is wide.
    failures = on_typed.stdout.split("short test summary info")[0]
    assert failures.count("correct on the lesson's own data, but not when the grader runs it again") == 2
    on_right = pytest_on(right)
    assert on_right.returncode == 0 and "3 passed" in on_right.stdout, on_right.stdout[-3000:]

    checked = copy.run("check", str(typed), "--assignment", "squares")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "y is x squared: correct on the lesson's own data, but not when the grader runs it again" in checked.stdout
    assert copy.run("check", str(right), "--assignment", "squares").returncode == 0


def test_a_value_probe_is_named_by_its_whole_expression_even_with_a_slice():
    from autograder.testing import shown_name

    assert shown_name("loss:[initial_loss, f(inputs[8:12])]") == "[initial_loss, f(inputs[8:12])]"
    assert shown_name("data:inputs") == "inputs"


def test_a_dict_of_properties_is_named_by_its_keys_and_a_long_expression_is_cut():
    from autograder.testing import shown_name

    check = ("{'출력 모양': tuple(mha(batch).shape), '헤드 수': len(mha.heads), '입력이 바뀌면 출력도 바뀜':"
             " not torch.allclose(mha(batch), mha(batch.flip(1)), equal_nan=True)}")
    assert shown_name(f"mha:{check}") == "{'출력 모양': …, '헤드 수': …, '입력이 바뀌면 출력도 바뀜': …}"
    assert shown_name("x:{'a': 1, b: 2}") == "{'a': 1, b: 2}"  # a key that is not a name: shown as written
    long = "[" + ", ".join(f"f(inputs[{i}])" for i in range(30)) + "]"
    assert shown_name(f"x:{long}") == long[:159] + "…"


def test_the_students_check_says_a_question_has_hidden_tests_only():
    """No tick for a question whose tests the check does not run: it says they run at grading."""
    from autograder.scoring.points import GradeReport, QuestionScore
    from autograder.scoring.suite import SuiteTest, TestOutcome
    from autograder.self_check import _course_report

    def outcome(name, visibility, passed):
        return TestOutcome(SuiteTest(name, name, "q", visibility, 1.0, lambda: None), passed, "")

    report = GradeReport("a.ipynb", "a", (
        QuestionScore("q1", "Square a tensor", 1.0, 1.0, (outcome("y", "visible", True),)),
        QuestionScore("q2", "Sum of squares", 0.0, 1.0, (outcome("total", "hidden", False),))))
    lines, passed = _course_report(report, Path("a.ipynb"), "Squares")
    assert "🔒 Sum of squares: hidden tests only; they run when your notebook is graded" in lines
    assert "✅ Square a tensor: 1/1 visible tests passed" in lines and passed
    assert "1 hidden tests are run when your notebook is graded; they are not shown here." in lines
