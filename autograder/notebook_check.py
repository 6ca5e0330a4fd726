"""`grader.check("q1")` inside a student's notebook: the visible checks of one question, run on the
notebook's own variables. It needs only this module, torch and the assignment's checks file, which
holds the expected values of variables that visible tests alone compare (their failure messages
show those values anyway), so nothing of the hidden tests is shipped.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from .i18n import _
from .protocol.plaindata import decode
from .testing import expect_close


class Checker:
    """Loads `<slug>_checks.json` from the notebook's folder; silently does nothing without it."""

    def __init__(self, checks_file: str):
        path = Path(checks_file)
        self.questions = json.loads(path.read_text(encoding="utf-8"))["questions"] if path.is_file() else None

    def check(self, question: str, namespace: dict | None = None) -> bool:
        """Print what passes and what to fix; return True when every check of the question passes."""
        if self.questions is None:
            return True  # graded elsewhere (the grader's own tests run instead), or the file was not handed out
        if question not in self.questions:
            raise KeyError(f"no checks for question '{question}' (known: {', '.join(self.questions)})")
        namespace = _caller_namespace() if namespace is None else namespace
        entry = self.questions[question]
        values = {check["variable"]: namespace[check["variable"]] for check in entry["checks"] if check["variable"] in namespace}
        lines, passed = question_report(entry, values)
        print("\n".join(lines))
        return passed


def question_report(entry: dict, values: dict) -> tuple[list[str], bool]:
    """Lines telling how one question's checks went on these variable values, and whether all passed."""
    failures = []
    for check in entry["checks"]:
        variable = check["variable"]
        try:
            if variable not in values:
                raise AssertionError(_("{variable} is not defined yet; run the cells above first").format(variable=variable))
            got, expected = _comparable(values[variable], decode(check["value"]), variable)
            expect_close(got, expected, variable)
        except AssertionError as problem:
            failures.append(str(problem))
    total = len(entry["checks"])
    lines = [_("{question}: {passed} of {total} checks passed").format(question=entry["name"], passed=total - len(failures),
                                                                        total=total)] + [f"  - {f}" for f in failures]
    return lines, not failures


def _comparable(got, expected, variable: str):
    """Numbers and lists of numbers are compared as tensors too."""
    if isinstance(expected, torch.Tensor):
        return got, expected
    try:
        return torch.as_tensor(got, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise AssertionError(_("{variable}: expected numbers like {expected}, got {type}").format(
            variable=variable, expected=repr(expected), type=type(got).__name__)) from None


def _caller_namespace() -> dict:
    try:
        return get_ipython().user_ns  # type: ignore[name-defined]  # noqa: F821  (inside Jupyter)
    except NameError:
        return sys._getframe(2).f_globals
