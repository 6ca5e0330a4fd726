"""How the grader words what happened to a cell, in the student's terms: one wording for
feedback.md, the graded notebook, `autograder check` and failed probes."""
from __future__ import annotations

import re
from collections.abc import Sequence

from .i18n import _
from .notebooks import PLACEHOLDER
from .protocol import notes
from .protocol.jobs import CRASHED, ERROR, NOT_ANSWERED, OK, TIMEOUT
from .protocol.messages import MAX_FIGURES, CellResult


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
        message = traceback_text(cell.error["evalue"], [cell, *earlier])  # a SyntaxError's names its cell's file
        return _("raised {error}: {message}").format(error=plain_name(cell.error["ename"]),
                                                     message=code(message) if message else "")
    if cell.status == TIMEOUT:
        return _("timed out: {why}").format(why="; ".join(cell.notes) or _("it did not finish"))
    if cell.status == CRASHED:
        return _("crashed: {why}").format(why="; ".join(cell.notes) or _("it did not finish"))
    return "; ".join(cell.notes)


def worker_note(kind: str, args: dict, cell_seconds: float) -> str:
    """A note a worker sent about a cell (a kind checked by protocol.notes), worded by the grader:
    the text it carries is the student's and shows as code; `cell_seconds`: the grader's own limit."""
    if kind == notes.PLACEHOLDER_LEFT:
        return _("'{placeholder}' is still in this cell").format(placeholder=PLACEHOLDER)
    if kind == notes.STOPPED:
        return _("stopped after {seconds} s (the time limit of one cell)").format(seconds=f"{cell_seconds:g}")
    if kind == notes.MAGIC:
        return _("{magic} was ignored (magics do not run when grading)").format(magic=code(args["text"]))
    if kind == notes.CELL_MAGIC:
        return _("{magic} cell was ignored (cell magics do not run when grading)").format(magic=code(args["text"]))
    if kind == notes.SHELL:
        return _("{command} was not run (shell commands do not run when grading)").format(command=code(args["text"]))
    if kind == notes.FIGURE_TOO_LARGE:
        return _("figure {number} was too large to keep in the graded notebook").format(number=args["number"])
    if kind == notes.FIGURES_DROPPED:
        return _("{count} more figure(s) of this cell were not kept (at most {limit})").format(
            count=args["count"], limit=MAX_FIGURES)
    if kind == notes.FIGURES_FAILED:
        return _("its figures could not be kept (drawing them failed or took too long)")
    raise ValueError(f"unknown note kind {kind[:40]!r}")


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


def traceback_text(traceback: str, cells: Sequence) -> str:
    """A traceback with each cell's file name ("<code cell 5>", which the worker compiles it under)
    replaced by the cell as the feedback names it, and the frames of installed libraries and of
    Python itself named from their package ("torch/nn/functional.py"), not from where the grader
    has them installed. The traceback is the student's text and may carry a fake file name: the
    replacement is one line without backticks (the names are made from sanitised lines), so it
    stays inside the fence or output it is shown in."""
    traceback = _INSTALLED.sub('File "', traceback)
    names = {cell.file: cell.label.replace("`", "'") for cell in cells if cell.file and cell.label}
    if not names:
        return traceback
    pattern = re.compile("|".join(re.escape(file) for file in sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda match: names[match.group(0)], traceback)


# A frame's file under site-packages (dist-packages on Debian) or Python's own library folder.
_INSTALLED = re.compile(r'File "[^"\n]*?/(?:(?:site|dist)-packages|lib/python3\.\d+)/(?!(?:site|dist)-packages/)')


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
