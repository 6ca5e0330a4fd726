"""How the grader words what happened to a cell, in the student's terms: one wording for
feedback.md, the graded notebook, `autograder check` and failed probes."""
from __future__ import annotations

import re
from collections.abc import Sequence

from .i18n import _
from .protocol.jobs import CRASHED, ERROR, NOT_ANSWERED, OK, TIMEOUT
from .protocol.messages import CellResult


def cell_note(cell, earlier: Sequence = ()) -> str:
    """What a student should know about how one cell ran ("" when it ran cleanly); `earlier`: the
    cells before it, to tell an error that only follows from one of them."""
    if cell.status == NOT_ANSWERED:
        return _("not answered yet (`### your code` is still there)")
    if cell.status == ERROR and cell.error:
        cause = missing_definition(cell, earlier)
        if cause is not None:
            name, source = cause
            return _cause(name, source)
        return _("raised {error}: {message}").format(error=plain_name(cell.error["ename"]),
                                                     message=code(cell.error["evalue"]) if cell.error["evalue"] else "")
    if cell.status == TIMEOUT:
        return _("timed out: {why}").format(why="; ".join(cell.notes) or _("it did not finish"))
    if cell.status == CRASHED:
        return _("crashed: {why}").format(why="; ".join(cell.notes) or _("it did not finish"))
    return "; ".join(cell.notes)


_LINE_CHARS = 60
_CODE_CHARS = 300


def code(text: str) -> str:
    """Text a student controls (an error message, a value, a file name) as a Markdown code span, so
    that feedback.md and the graded notebook show it as it is: no HTML, link or heading of theirs
    renders. One line, at most _CODE_CHARS characters; a backtick inside is kept (a longer fence)."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    if not text:
        return ""
    if len(text) > _CODE_CHARS:
        text = text[:_CODE_CHARS - 1] + "…"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence, pad = "`" * (longest + 1), " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain_name(name: str) -> str:
    """A name a worker sent (an exception's, a type's): a plain dotted name as it is, anything else as code."""
    return name if re.fullmatch(r"[\w.]+", name) else code(name)


def heading_of(markdown: str) -> str:
    """The last heading (`# ...`) of a markdown cell, without its #s; "" when it has none."""
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if re.match(r"^#{1,6}\s", line)]
    return _plain(headings[-1]) if headings else ""


def cell_title(heading: str, source: str) -> str:
    """A cell as the student sees it: its first line and the question heading above it."""
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    line = _plain(first) if first else _("empty")
    if heading:
        return _("cell `{line}` under “{heading}”").format(line=line, heading=heading)
    return _("cell `{line}`").format(line=line)


def _plain(text: str) -> str:
    """One line of a cell or heading that is safe inside backticks and not too long."""
    text = re.sub(r"[`\x00-\x1f]", "'", text).strip()
    return text if len(text) <= _LINE_CHARS else text[:_LINE_CHARS - 1] + "…"


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


def _cause(name: str, source) -> str:
    if source.status == NOT_ANSWERED:
        return _("could not run: `{name}` is not defined because {cell}, which defines it, is not answered yet").format(
            name=name, cell=source.label)
    if source.status == ERROR and source.error:
        return _("could not run: `{name}` is not defined because {cell}, which defines it, raised {error}").format(
            name=name, cell=source.label, error=plain_name(source.error["ename"]))
    return _("could not run: `{name}` is not defined because {cell}, which defines it, did not finish").format(
        name=name, cell=source.label)


def blocked_by(cell: CellResult) -> str:
    """Why a value read right after `cell` is missing, when that cell did not run cleanly."""
    label = cell.label or cell.id
    if cell.status == NOT_ANSWERED:
        return _("{cell} is not answered yet").format(cell=label)
    if cell.status == ERROR and cell.error:
        return _("{cell} raised {error}").format(cell=label, error=plain_name(cell.error["ename"]))
    return _("{cell} did not finish").format(cell=label)
