"""Load an assignment's hidden tests (graders/<slug>/test_*.py, pytest style) and run them on data.

The tests are ordinary pytest tests, so `pytest graders/<slug>` runs them too. Here they are
called directly on the values extracted from each notebook: one import per batch, microseconds
per test, and never in a process that ran student code.
"""
from __future__ import annotations

import importlib.util
import inspect
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .config import AssignmentConfig
from .errors import AutograderError, Location
from .testing import ProbeUnavailable, Run

VISIBLE, HIDDEN = "visible", "hidden"
FIXTURES = {"student", "reference"}


@dataclass(frozen=True)
class HiddenTest:
    name: str          # what the student reads
    function_name: str
    question: str
    visibility: str
    weight: float
    function: Callable
    fixtures: tuple[str, ...] = ("student", "reference")  # the arguments it takes, in order


@dataclass(frozen=True)
class TestOutcome:
    test: HiddenTest
    passed: bool
    message: str


@dataclass(frozen=True)
class Suite:
    folder: Path
    probes_path: Path
    tests: tuple[HiddenTest, ...]


def load_suite(folder: Path, config: AssignmentConfig) -> Suite:
    """Import probes.py and every test_*.py of a grader folder; check markers against the questions."""
    probes_path = folder / "probes.py"
    if not probes_path.is_file():
        raise AutograderError(probes_path, "missing; a grader folder needs probes.py (what to extract) and test_*.py")
    tests = []
    for path in sorted(folder.glob("test_*.py")):
        module = _import(path)
        for name, function in vars(module).items():  # in the order they are written
            if name.startswith("test_") and callable(function):
                tests.append(_hidden_test(path, name, function, config))
    if not tests:
        raise AutograderError(folder, "no hidden tests (functions named test_* in files named test_*.py)")
    tested = {t.question for t in tests}
    for question in config.questions:
        if question.id not in tested:
            raise AutograderError(folder, f"question '{question.id}' has no test marked @pytest.mark.question('{question.id}')")
    return Suite(folder, probes_path, tuple(tests))


def _import(path: Path):
    name = f"hidden_tests_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AutograderError(path, f"cannot import the hidden tests: {type(exc).__name__}: {exc}") from None
    return module


def _hidden_test(path: Path, name: str, function: Callable, config: AssignmentConfig) -> HiddenTest:
    marks = {mark.name: mark for mark in getattr(function, "pytestmark", [])}
    line = inspect.getsourcelines(function)[1]
    where = Location(path, line=line)
    if "question" not in marks:
        raise AutograderError(where, f"{name} needs @pytest.mark.question('<id>') to say which question it grades")
    question = marks["question"].args[0]
    if config.question(question) is None:
        known = ", ".join(q.id for q in config.questions) or "none"
        raise AutograderError(where, f"{name} is marked for question '{question}', which assignment.yaml does not define (known: {known})")
    unknown = set(inspect.signature(function).parameters) - FIXTURES
    if unknown:
        raise AutograderError(where, f"{name} asks for {', '.join(sorted(unknown))}; tests can use: student, reference")
    doc = (inspect.getdoc(function) or name.removeprefix("test_").replace("_", " ")).splitlines()[0]
    weight = float(marks["weight"].args[0]) if "weight" in marks else 1.0
    return HiddenTest(doc, name, question, HIDDEN if "hidden" in marks else VISIBLE, weight, function,
                      tuple(inspect.signature(function).parameters))


# Hidden tests are ordinary single-threaded pytest tests: some seed torch's global generator and
# build modules from it (as oracles). Submissions are graded in threads, so tests run one at a
# time, and each gets the generator back as it found it.
_ONE_AT_A_TIME = threading.Lock()


def run_test(test: HiddenTest, student: Run, reference: Run) -> TestOutcome:
    """Call one test; a failed check becomes its message, and nothing a test raises escapes."""
    with _ONE_AT_A_TIME:
        state = torch.get_rng_state()
        try:
            return _call(test, student, reference)
        finally:
            torch.set_rng_state(state)


def _call(test: HiddenTest, student: Run, reference: Run) -> TestOutcome:
    fixtures = {"student": student, "reference": reference}
    arguments = {name: fixtures[name] for name in test.fixtures}
    try:
        test.function(**arguments)
    except ProbeUnavailable as exc:
        return TestOutcome(test, False, str(exc))
    except AssertionError as exc:
        return TestOutcome(test, False, str(exc) or "a check failed")
    except Exception as exc:
        return TestOutcome(test, False, f"could not be checked ({type(exc).__name__}: {exc})"[:500])
    return TestOutcome(test, True, "")
