"""An assignment's hidden tests (graders/<slug>/test_*.py), collected by pytest and run on data.

The tests are ordinary pytest tests: `pytest graders/<slug>` runs them (autograder.scoring.plugin
gives them `student` and `reference`). For grading, pytest collects them once per batch, so their
modules are imported with pytest's assertion rewriting and their marks and parameters read by
pytest itself; each test is then called directly on each submission's values: microseconds per
test, and never in a process that ran student code.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from ..config import AssignmentConfig
from ..course import PROBES_NAME
from ..errors import AutograderError, Location
from ..i18n import _
from ..protocol.plaindata import Inputs
from ..testing import ProbeUnavailable, Run
from .inputs import GraderInputs, make_inputs
from .plugin import FIXTURES, MARKERS

VISIBLE, HIDDEN = "visible", "hidden"
# Marks a graded test may carry besides ours; skip and xfail would make points vanish silently.
_ALLOWED_MARKS = set(MARKERS) | {"parametrize"}


@dataclass(frozen=True)
class SuiteTest:
    """One collected test (one case of a parametrized test), visible or hidden."""

    __test__ = False  # not a test class, though its module is imported by tests

    name: str          # what the student reads
    function_name: str  # unique in the suite: the pytest item's name, e.g. test_x or test_x[case]
    question: str
    visibility: str
    weight: float
    function: Callable
    fixtures: tuple[str, ...] = ("student", "reference")  # the fixtures it takes
    params: dict[str, Any] = field(default_factory=dict)  # a parametrized case's arguments

    def call(self, student: Run, reference: Run, given: Mapping[str, Any]) -> None:
        fixtures = {"student": student, "reference": reference, "given": given}
        self.function(**self.params, **{name: fixtures[name] for name in self.fixtures})


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False

    test: SuiteTest
    passed: bool
    message: str


@dataclass(frozen=True)
class Suite:
    folder: Path
    probes_path: Path
    tests: tuple[SuiteTest, ...]
    inputs: GraderInputs = field(default_factory=GraderInputs)


def load_suite(folder: Path, config: AssignmentConfig) -> Suite:
    """Collect every test_*.py of a grader folder with pytest; check marks and fixtures against the questions."""
    probes_path = folder / PROBES_NAME
    if not probes_path.is_file():
        raise AutograderError(probes_path, "missing; a grader folder needs probes.py (what to extract) and test_*.py")
    tests = [_suite_test(item, config) for item in _collect(folder)]  # pytest.Function items only
    if not tests and any(q.test_points for q in config.questions):
        raise AutograderError(folder, "no hidden tests (functions named test_* in files named test_*.py)")
    tested = {t.question for t in tests}
    for question in config.questions:
        if question.test_points and question.id not in tested:
            hint = " (or make it graded by hand with 'manual: true')" if not question.manual else \
                " (or leave all its points to the TA: remove 'manual_points')"
            raise AutograderError(folder, f"question '{question.id}' has no test marked "
                                          f"@pytest.mark.question('{question.id}'){hint}")
        if not question.test_points and question.id in tested:
            raise AutograderError(folder, f"question '{question.id}' is graded by hand for all its points, yet tests are "
                                          "marked for it; give the TA part of them with 'manual_points: N'")
    return Suite(folder, probes_path, tuple(tests), make_inputs(probes_path, config.seeds))


class _Collector:
    """A plugin for one collection-only pytest session: keeps the items and the collection errors."""

    def __init__(self):
        self.items: list[pytest.Item] = []
        self.errors: list[pytest.CollectReport] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(report)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.items = list(items)


def _collect(folder: Path) -> list[pytest.Function]:
    folder = folder.resolve()
    _forget_modules_in(folder)  # a test file edited since it was last collected here is read again
    collector = _Collector()
    args = [str(folder), "--collect-only", "-c", os.devnull, "--rootdir", "/", "--confcutdir", str(folder),
            "--import-mode=importlib", "-p", "no:cacheprovider", "-p", "no:terminal",
            # (its clean-up runs the garbage collector several times: 0.3 s with torch loaded)
            "-p", "no:unraisableexception"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pytest.main(args, plugins=[collector])
    if collector.errors:
        raise _collection_error(collector.errors[0], folder)
    return [item for item in collector.items if isinstance(item, pytest.Function)]


def _forget_modules_in(folder: Path) -> None:
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).parent == folder:
            del sys.modules[name]


def _collection_error(report: pytest.CollectReport, folder: Path) -> AutograderError:
    path = Path(str(report.fspath)) if report.fspath else folder
    text = str(report.longrepr).strip()
    lines = [line for line in text.splitlines() if line.startswith("E ")] or text.splitlines()[-1:]
    detail = " ".join(line.removeprefix("E").strip() for line in lines)[:500]
    return AutograderError(path, f"cannot import the hidden tests: {detail}")


def _suite_test(item: pytest.Function, config: AssignmentConfig) -> SuiteTest:
    function = item.function
    where = Location(Path(str(item.path)), line=inspect.getsourcelines(function)[1])
    name = item.originalname
    for mark in item.iter_markers():
        if mark.name not in _ALLOWED_MARKS:
            raise AutograderError(where, f"{name} is marked '{mark.name}'; a graded test may only be marked "
                                         f"{', '.join(sorted(_ALLOWED_MARKS))} (a skipped or expected-to-fail test "
                                         "would make its points vanish silently)")
    question_mark = item.get_closest_marker("question")
    if question_mark is None or not question_mark.args:
        raise AutograderError(where, f"{name} needs @pytest.mark.question('<id>') to say which question it grades")
    question = str(question_mark.args[0])
    if config.question(question) is None:
        known = ", ".join(q.id for q in config.questions) or "none"
        raise AutograderError(where, f"{name} is marked for question '{question}', which assignment.yaml does not "
                                     f"define (known: {known})")
    params = dict(item.callspec.params) if hasattr(item, "callspec") else {}
    arguments = [p for p in inspect.signature(function).parameters if p not in params]
    unknown = set(arguments) - FIXTURES
    if unknown:
        raise AutograderError(where, f"{name} asks for {', '.join(sorted(unknown))}; tests can use: "
                                     f"{', '.join(sorted(FIXTURES))}")
    weight_mark = item.get_closest_marker("weight")
    weight = float(weight_mark.args[0]) if weight_mark is not None and weight_mark.args else 1.0
    if weight <= 0:
        raise AutograderError(where, f"{name} has weight {weight:g}; a test's weight must be more than 0")
    doc = (inspect.getdoc(function) or name.removeprefix("test_").replace("_", " ")).splitlines()[0]
    if params:
        doc += f" [{item.callspec.id}]"
    visibility = HIDDEN if item.get_closest_marker("hidden") is not None else VISIBLE
    return SuiteTest(doc, item.name, question, visibility, weight, item.obj, tuple(arguments), params)


# Hidden tests are ordinary single-threaded pytest tests: some seed torch's global generator and
# build modules from it (as oracles). Submissions are graded in threads, so tests run one at a
# time, and each gets the generator back as it found it.
_ONE_AT_A_TIME = threading.Lock()


def run_test(test: SuiteTest, student: Run, reference: Run, given: Mapping[str, Any] | None = None) -> TestOutcome:
    """Call one test; a failed check becomes its message, and nothing a test raises escapes."""
    with _ONE_AT_A_TIME:
        state = torch.get_rng_state()
        try:
            return _call(test, student, reference, given if given is not None else Inputs({}))
        finally:
            torch.set_rng_state(state)


def _call(test: SuiteTest, student: Run, reference: Run, given: Mapping[str, Any]) -> TestOutcome:
    try:
        test.call(student, reference, given)
    except ProbeUnavailable as exc:
        return TestOutcome(test, False, str(exc))
    except AssertionError as exc:
        return TestOutcome(test, False, _assertion_message(exc))
    except Exception as exc:
        return TestOutcome(test, False, _("could not be checked ({error}: {message})").format(
            error=type(exc).__name__, message=exc)[:500])
    return TestOutcome(test, True, "")


def _assertion_message(exc: AssertionError) -> str:
    """The assertion's message; for a plain `assert`, pytest's rewritten explanation of it."""
    text = str(exc).strip()
    return text[:1000] if text else _("a check failed")
