"""The pytest plugin for hidden tests (registered as a `pytest11` entry point, so every pytest in
this environment knows it): the `question`, `hidden` and `weight` markers, and the `student`,
`reference` and `given` fixtures, so that `pytest graders/<slug>` runs an assignment's hidden tests on the
solution, or with `--submission FILE` on one notebook.

Loaded by every pytest run here, so it imports nothing heavy until a grader folder asks for a
fixture.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .grader import StudentRuns

MARKERS = {
    "question": "question(id): the assignment question a graded test belongs to (required)",
    "hidden": "hidden: a hidden test (Gradescope visibility 'hidden'); its failure details are not shown",
    "weight": "weight(w): the test's share of its question's points (default 1)",
}
FIXTURES = frozenset({"student", "reference", "given"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "hidden tests of notebook assignments")
    group.addoption("--submission", type=Path, default=None,
                    help="run the hidden tests of graders/<slug> on this notebook instead of the solution")


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS.values():
        config.addinivalue_line("markers", line)


@pytest.fixture(scope="session")
def _autograder_graders():
    """One grader per assignment for the whole session (it starts a fork server)."""
    graders: dict[Path, object] = {}
    yield graders
    for grader in graders.values():
        grader.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def _autograder_grader(request: pytest.FixtureRequest, _autograder_graders):
    from ..scoring.grader import Grader, load_assignment

    folder = request.path.parent.resolve()
    if folder.parent.name != "graders":
        pytest.fail(f"{request.path}: `student` and `reference` exist only for tests in graders/<slug>/", pytrace=False)
    if folder not in _autograder_graders:
        root = folder.parent.parent
        assignment = load_assignment(root, folder.name)
        _autograder_graders[folder] = Grader(assignment, assignment.layout.cache)
    return _autograder_graders[folder]


@pytest.fixture(scope="module")
def reference(_autograder_grader):
    """The probe values of the solution notebook."""
    return _autograder_grader.reference


@pytest.fixture(scope="module")
def given(_autograder_grader):
    """The inputs and weights the grader made (probes.py's @probes.grader_inputs): the tests' own copy."""
    return _autograder_grader.assignment.suite.inputs.given


@pytest.fixture(scope="module")
def _autograder_submission(request: pytest.FixtureRequest, _autograder_grader):
    """Both runs of `--submission FILE` (scoring.grader.StudentRuns), or None for the solution."""
    from ..scoring.grader import student_run

    path = request.config.getoption("--submission")
    return None if path is None else student_run(_autograder_grader, path)


@pytest.fixture(scope="module")
def student(_autograder_grader, _autograder_submission):
    """The probe values of `--submission FILE`, or of the solution when none is given."""
    return _autograder_grader.reference if _autograder_submission is None else _autograder_submission.first


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """A step test that passed on the submission's first run is called again on its second run (the
    lesson data varied), and fails when it fails there: pytest reports what `autograder grade` scores."""
    called = yield
    runs: StudentRuns | None = pyfuncitem.funcargs.get("_autograder_submission")  # type: ignore[assignment]
    if runs is not None and runs.rechecks(pyfuncitem.name):
        names = pyfuncitem._fixtureinfo.argnames
        arguments = {name: pyfuncitem.funcargs[name] for name in names} | runs.second_fixtures()
        try:
            pyfuncitem.obj(**{name: arguments[name] for name in names})
        except Exception as failure:  # noqa: BLE001  (any failure there fails the test, as in grading)
            pytest.fail(f"{runs.message}\n(second run: {type(failure).__name__}: {failure})", pytrace=False)
    return called
