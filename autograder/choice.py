"""Which of several notebooks a student submitted is the assignment's (Gradescope takes whatever
was uploaded: `Untitled.ipynb` beside the real one), and a sentence that says which was graded."""
from __future__ import annotations

import json
from pathlib import Path

from .errors import NotebookReadError
from .i18n import _
from .notebooks import notebook_bytes
from .scoring.grader import MAX_SUBMISSION_BYTES
from .wording import code


def choose_notebook(paths: list[Path], slug: str, released_ids: set[str]) -> tuple[Path, str]:
    """The notebook to grade and what the student is told: the one whose metadata names the
    assignment, else the one named after it, else the one holding most of the released cells."""
    if len(paths) == 1:
        return paths[0], ""
    ordered = sorted(paths, key=lambda p: p.name)
    cells = {path: _notebook(path) for path in ordered}
    tagged = [p for p in ordered if _assignment(cells[p]) == slug]
    named = [p for p in ordered if p.name == f"{slug}.ipynb"]
    if tagged:
        chosen, reason = tagged[0], _("its metadata names this assignment")
    elif named:
        chosen, reason = named[0], _("its name is the assignment's")
    else:
        overlap = {p: len(released_ids & _ids(cells[p])) for p in ordered}
        chosen = max(ordered, key=lambda p: overlap[p])
        reason = _("it holds the most cells of the released notebook") if overlap[chosen] else _("it comes first by name")
    others = ", ".join(code(p.name) for p in ordered if p != chosen)
    return chosen, _("{count} notebooks were submitted; {chosen} was graded ({reason}), not {others}. "
                     "Submit only the notebook of this assignment.").format(count=len(paths), chosen=code(chosen.name),
                                                                            reason=reason, others=others)


def _notebook(path: Path) -> dict:
    """The notebook's JSON, read as a submission is (never through a link or from a pipe), else {}."""
    try:
        data = json.loads(notebook_bytes(path, MAX_SUBMISSION_BYTES, regular_only=True))
    except (NotebookReadError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _assignment(nb: dict) -> object:
    metadata = nb.get("metadata")
    tag = metadata.get("autograder") if isinstance(metadata, dict) else None
    return tag.get("assignment") if isinstance(tag, dict) else None


def _ids(nb: dict) -> set[str]:
    cells = nb.get("cells")
    return {c["id"] for c in cells if isinstance(c, dict) and isinstance(c.get("id"), str)} if isinstance(cells, list) else set()
