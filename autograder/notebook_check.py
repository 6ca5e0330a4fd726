"""`grader.check("q1")` inside a student's notebook: the visible checks of one question, run in the
student's own kernel. It needs only this package, torch and the assignment's checks file (handed
out with the notebook), which holds the expected values that visible tests alone compare, computed
from the lesson's own data, so nothing of the hidden tests is shipped.

Checks never lie: without the checks file a check says so and fails; each value is the one its
cell produced (taken right after that cell ran, so a later cell reusing the name after "Run All"
changes nothing); a check prints nothing itself, its result shows as the cell's value.
"""
from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .i18n import _, language
from .probes import evaluate
from .protocol.plaindata import decode, encode
from .testing import expect_match, shown_expression


@dataclass(frozen=True)
class Unavailable:
    """No value to check, and why (its cell raised, was not answered, ...)."""

    reason: str


@dataclass(frozen=True)
class CheckResult:
    """How one question's checks went: true when all passed; shown as its report."""

    passed: bool
    lines: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return "\n".join(self.lines)


class Checker:
    """Loads `<slug>_checks.json` from the notebook's folder and keeps each checked value as its cell
    left it (an IPython hook after every cell)."""

    def __init__(self, checks_file: str, language: str | None = None):
        """`language`: of the messages, also when the file is missing (default: the file's, else English)."""
        self.path = Path(checks_file)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        self.questions: dict | None = data["questions"] if isinstance(data, dict) and "questions" in data else None
        self.language = language or (data.get("language", "en") if isinstance(data, dict) else "en")
        self._values: dict[tuple[str, str], Any] = {}
        # Kept: IPython calls the hook after its builtins (get_ipython among them) are put away.
        self._shell = _ipython()
        if self._shell is not None and self.questions is not None:
            self._shell.events.register("post_run_cell", self._after_cell)

    def check(self, question: str, namespace: dict | None = None) -> CheckResult:
        """The question's checks on the values its cells produced; shown as the cell's result."""
        with language(self.language):
            if self.questions is None:
                return CheckResult(False, (_("{file} was not found next to this notebook, so nothing was checked. "
                                             "Put the checks file of the handout in the notebook's folder.").format(
                    file=self.path.name),))
            if question not in self.questions:
                raise KeyError(_("no checks for question '{question}' (known: {known})").format(
                    question=question, known=", ".join(self.questions)))
            namespace = _caller_namespace() if namespace is None else namespace
            entry = self.questions[question]
            values = {}
            for check in entry["checks"]:
                key = (check["cell"], check["variable"])
                if key in self._values:
                    values[check["variable"]] = self._values[key]
                    continue
                try:
                    values[check["variable"]] = evaluate(namespace, check["variable"])
                except Exception:  # not defined yet, or the student's code raised: said below
                    continue
            lines, passed = question_report(entry, values)
            return CheckResult(passed, tuple(lines))

    def _after_cell(self, result) -> None:
        """Keep the checked values of the cell that just ran (found by its id, or by its released lines)."""
        info = getattr(result, "info", None)
        cell_id, raw = getattr(info, "cell_id", None), getattr(info, "raw_cell", "") or ""
        shell = self._shell
        if shell is None or self.questions is None:
            return
        known = {check["cell"] for entry in self.questions.values() for check in entry["checks"]}
        for entry in self.questions.values():
            for check in entry["checks"]:
                if cell_id == check["cell"] or (cell_id not in known and has_signature(raw, check.get("signature", []))):
                    key = (check["cell"], check["variable"])
                    if not getattr(result, "success", True):
                        with language(self.language):
                            self._values[key] = Unavailable(_cell_raised(check["variable"]))
                        continue
                    state = torch.get_rng_state()  # a check must not change what the next cell draws
                    try:
                        self._values[key] = _kept(evaluate(shell.user_ns, check["variable"]))
                    except Exception:
                        self._values.pop(key, None)
                    finally:
                        torch.set_rng_state(state)


def question_report(entry: dict, values: dict) -> tuple[list[str], bool]:
    """Lines telling how one question's checks went on these values, and whether all passed."""
    failures = []
    for check in entry["checks"]:
        variable = check["variable"]
        label = shown_expression(variable)
        try:
            if variable not in values:
                raise AssertionError(_("{variable} is not defined yet; run the cells above first").format(variable=label))
            if isinstance(values[variable], Unavailable):
                raise AssertionError(values[variable].reason)
            expect_match(_plain(values[variable]), decode(check["value"]), label)
        except AssertionError as problem:
            failures.append(str(problem))
    total = len(entry["checks"])
    lines = [_("{question}: {passed} of {total} checks passed").format(question=entry["name"], passed=total - len(failures),
                                                                        total=total)] + [f"  - {f}" for f in failures]
    return lines, not failures


def _cell_raised(variable: str) -> str:
    return _("{variable}: the cell that computes it raised an error; fix it and run it again").format(
        variable=shown_expression(variable))


def _plain(value: Any) -> Any:
    """The value as the grader would read it (tuples as lists, tensors as tensors), or as it is."""
    try:
        return decode(encode(value))
    except (TypeError, ValueError):
        return value


def _kept(value: Any) -> Any:
    """A copy, so that a later cell changing the object in place does not change what was checked."""
    clone = getattr(value, "clone", None)
    if callable(clone):
        try:
            return clone()
        except Exception:
            return value
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def has_signature(source: str, signature: list[str]) -> bool:
    """The cell holds the released lines of a checked cell (how it is found when a tool dropped its id)."""
    lines = [line.strip() for line in source.splitlines()]
    return bool(signature) and all(any(line.startswith(part) for line in lines) for part in signature)


def _ipython():
    try:
        return get_ipython()  # type: ignore[name-defined]  # noqa: F821  (inside Jupyter)
    except NameError:
        return None


def _caller_namespace() -> dict:
    shell = _ipython()
    return shell.user_ns if shell is not None else sys._getframe(2).f_globals
