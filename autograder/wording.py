"""How the grader words what happened to a cell, in the student's terms: one wording for
feedback.md, the graded notebook, `autograder check` and failed probes."""
from __future__ import annotations

import re
from collections.abc import Sequence

from .protocol.jobs import CRASHED, ERROR, NOT_ANSWERED, OK, TIMEOUT
from .protocol.messages import CellResult


def cell_note(cell, earlier: Sequence = ()) -> str:
    """What a student should know about how one cell ran ("" when it ran cleanly); `earlier`: the
    cells before it, to tell an error that only follows from one of them."""
    if cell.status == NOT_ANSWERED:
        return "not answered yet (`### your code` is still there)"
    if cell.status == ERROR and cell.error:
        cause = missing_definition(cell, earlier)
        if cause is not None:
            name, source = cause
            return f"could not run: `{name}` is not defined because {source.label}, which defines it, {_outcome(source)}"
        return f"raised {cell.error['ename']}: {cell.error['evalue']}"
    if cell.status in (TIMEOUT, CRASHED):
        return f"{cell.status}: {'; '.join(cell.notes) or 'it did not finish'}"
    return "; ".join(cell.notes)


_UNDEFINED = re.compile(r"^name '(\w+)' is not defined")


def missing_definition(cell, earlier: Sequence):
    """(name, cell) when `cell` failed only on a name that an earlier cell, which did not run
    cleanly (unanswered, failed), was to define; else None."""
    if cell.error.get("ename") != "NameError":
        return None
    match = _UNDEFINED.match(cell.error.get("evalue", ""))
    if match is None:
        return None
    name = re.escape(match.group(1))
    # Where a cell defines a name: `name = ...` (also among several targets), def, class, a for loop, `as`.
    defines = re.compile(rf"^[ \t]*(?:[\w.]+[ \t]*,[ \t]*)*{name}[ \t]*(?:,[ \t]*[\w.]+[ \t]*)*=(?!=)"
                         rf"|^[ \t]*(?:async[ \t]+)?(?:def|class|for)[ \t]+{name}\b|\bas[ \t]+{name}\b",
                         re.MULTILINE)
    for before in reversed(earlier):
        if defines.search(before.source):
            return (match.group(1), before) if before.status != OK else None
    return None


def _outcome(cell) -> str:
    if cell.status == NOT_ANSWERED:
        return "is not answered yet"
    if cell.status == ERROR and cell.error:
        return f"raised {cell.error['ename']}"
    return "did not finish"


def blocked_by(cell: CellResult) -> str:
    """Why a value read right after `cell` is missing, when that cell did not run cleanly."""
    return f"{cell.label or 'cell ' + cell.id} {_outcome(cell)}"
