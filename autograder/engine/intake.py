"""A student's notebook -> the cells to run: answers from the student, everything else as released.

Answer cells are matched by cell id; when another tool dropped or renumbered the ids (Colab,
VS Code, an old Jupyter), by position and content instead.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from nbformat import NotebookNode

from ..i18n import _
from ..notebooks import PLACEHOLDER, cell_text
from ..protocol.jobs import NOT_ANSWERED, CellJob
from ..wording import cell_title, heading_of

_MIN_SIMILARITY = 0.35


@dataclass(frozen=True)
class ReleasedCell:
    id: str
    source: str
    is_answer: bool
    heading: str = ""  # the last markdown heading above it: the question it belongs to


@dataclass(frozen=True)
class Plan:
    """What will run for one submission, and what the student should know about it."""

    cells: tuple[CellJob, ...]
    notes: tuple[str, ...]
    matched_by: str  # "id" or "content"


def released_cells(student_notebook: NotebookNode) -> list[ReleasedCell]:
    cells, heading = [], ""
    for c in student_notebook.cells:
        if c.cell_type == "markdown":
            heading = heading_of(cell_text(c.source)) or heading
        elif c.cell_type == "code":
            cells.append(ReleasedCell(c.id, cell_text(c.source), PLACEHOLDER in cell_text(c.source), heading))
    return cells


class TooManyCells(ValueError):
    """More code cells than any honest answer to the release needs; matching them would cost the grader too much."""


def max_code_cells(release: list[ReleasedCell]) -> int:
    """Code cells a submission may have: the release's three times over, and a hundred more of the student's own."""
    return 3 * len(release) + 100


def plan_submission(release: list[ReleasedCell], submission: NotebookNode) -> Plan:
    """Pair each released cell with the student's cell; protected cells always run as released.

    Raises TooManyCells past max_code_cells: content matching compares every released cell with
    every submitted one, so its cost is bounded by the release, never by what a student sends.
    """
    theirs = [(c.get("id"), cell_text(c.source)) for c in submission.cells if c.cell_type == "code"]
    if len(theirs) > max_code_cells(release):
        raise TooManyCells(_("it has {count} code cells; the released notebook has {released}, and a submission may "
                             "have at most {limit}. Remove the cells you added and submit again").format(
            count=len(theirs), released=len(release), limit=max_code_cells(release)))
    pairs, matched_by = _match_by_id(release, theirs), "id"
    if pairs is None:
        pairs, matched_by = _match_by_content(release, theirs), "content"
    jobs: list[CellJob] = []
    notes: list[str] = []
    used = set(pairs.values())
    extras = _extras_after(pairs, len(theirs), used)
    heading = release[0].heading if release else ""
    jobs += [_extra(k, theirs, heading) for k in extras.get(-1, [])]
    for number, cell in enumerate(release, start=1):
        mine = pairs.get(number - 1)
        label = f"code cell {mine + 1}" if mine is not None else f"code cell {number} of the released notebook"
        title = cell_title(cell.heading, cell.source)
        if not cell.is_answer:
            jobs.append(CellJob(cell.id, cell.source, "protected", label=label, title=title))
            if mine is not None and _normal(theirs[mine][1]) != _normal(cell.source):
                notes.append(_("{cell} is part of the setup and was changed in your notebook; "
                               "the released version was run instead").format(cell=title))
        elif mine is None:
            jobs.append(CellJob(cell.id, cell.source, "answer", skip=NOT_ANSWERED, label=label, title=title))
            notes.append(_("{cell} of the released notebook was not found in your notebook").format(cell=title))
        elif _normal(theirs[mine][1]) == _normal(cell.source):
            jobs.append(CellJob(cell.id, cell.source, "answer", skip=NOT_ANSWERED, label=label, title=title))
        else:
            jobs.append(CellJob(cell.id, theirs[mine][1], "answer", label=label,
                                title=cell_title(cell.heading, theirs[mine][1])))
        if mine is not None:
            jobs += [_extra(k, theirs, cell.heading) for k in extras.get(mine, [])]
    added = sum(len(v) for v in extras.values())
    if added:
        notes.append(_("{count} code cell(s) you added were run too, where you put them").format(count=added))
    return Plan(tuple(jobs), tuple(notes), matched_by)


def _extra(k: int, theirs: list[tuple], heading: str) -> CellJob:
    return CellJob(f"extra-{k + 1}", theirs[k][1], "extra", label=f"code cell {k + 1} (added by you)",
                   title=_("{cell}, added by you").format(cell=cell_title(heading, theirs[k][1])))


def _match_by_id(release: list[ReleasedCell], theirs: list[tuple]) -> dict[int, int] | None:
    """Released index -> submission index, when every answer cell is found by a unique id."""
    ids = [cell_id for cell_id, _source in theirs]
    if any(not cell_id for cell_id in ids) or len(set(ids)) != len(ids):
        return None
    where = {cell_id: k for k, cell_id in enumerate(ids)}
    if not all(cell.id in where for cell in release if cell.is_answer):
        return None
    pairs = {i: where[cell.id] for i, cell in enumerate(release) if cell.id in where}
    order = [pairs[i] for i in sorted(pairs)]
    return pairs if order == sorted(order) else None


def _match_by_content(release: list[ReleasedCell], theirs: list[tuple]) -> dict[int, int]:
    """Monotone alignment of released and submitted cells maximising content similarity."""
    n, m = len(release), len(theirs)
    templates = [_template(cell) for cell in release]
    sources = [_normal(source) for _id, source in theirs]
    # Each comparison reads at most a bounded stretch of the student's cell (a cell far longer than
    # the template is no match for it anyway): the cost of a pair is bounded by the release.
    score = [[_similarity(templates[i], sources[j][:2 * len(templates[i]) + 500]) for j in range(m)] for i in range(n)]
    best = [[0.0] * (m + 1) for _row in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = score[i][j] + best[i + 1][j + 1] if score[i][j] >= _MIN_SIMILARITY else -1.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    pairs, i, j = {}, 0, 0
    while i < n and j < m:
        if score[i][j] >= _MIN_SIMILARITY and best[i][j] == score[i][j] + best[i + 1][j + 1]:
            pairs[i] = j
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _extras_after(pairs: dict[int, int], count: int, used: set[int]) -> dict[int, list[int]]:
    """Student cells that match nothing, keyed by the matched student cell they follow (-1: first)."""
    extras: dict[int, list[int]] = {}
    previous = -1
    for k in range(count):
        if k in used:
            previous = k
        else:
            extras.setdefault(previous, []).append(k)
    return extras


def _template(cell: ReleasedCell) -> str:
    """What a student's answer keeps of the released cell: everything but the placeholders."""
    lines = [line.split(PLACEHOLDER)[0].rstrip() for line in cell.source.splitlines()]
    return _normal("\n".join(lines))


def _similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < _MIN_SIMILARITY or matcher.quick_ratio() < _MIN_SIMILARITY:
        return 0.0  # upper bounds of ratio(), in time linear in the lengths
    return matcher.ratio()


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())
