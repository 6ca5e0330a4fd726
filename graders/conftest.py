"""Lets `pytest graders/<slug>` run the hidden tests for real: on the solution by default, or on
one notebook with `--submission FILE` (how an instructor sees a test fail as a student would)."""
from pathlib import Path

import pytest

from autograder.grade import Grader, load_assignment, student_run

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--submission", type=Path, help="grade this notebook instead of the solution")


@pytest.fixture(scope="module")
def _grader(request):
    grader = Grader(load_assignment(ROOT, request.path.parent.name), ROOT / ".cache" / "references")
    yield grader
    grader.close()


@pytest.fixture(scope="module")
def reference(_grader):
    return _grader.reference


@pytest.fixture(scope="module")
def student(request, _grader):
    path = request.config.getoption("--submission")
    return _grader.reference if path is None else student_run(_grader, path)
