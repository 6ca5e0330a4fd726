"""Source notebook -> student and solution notebooks, as pure functions on nbformat nodes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from ..errors import Location, MarkerError
from ..notebooks import cell_text
from .markers import BOTH, SOLUTION_ONLY, STUDENT_ONLY, MarkerProblem, compile_code, find_markers

_MARKDOWN_AUDIENCE = re.compile(r"^\s*<!--\s*(SOLUTION ONLY|STUDENT ONLY)\s*-->\s*(\n|$)")
_ID_OK = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Notebook metadata that does not depend on the machine or the kernel that ran it.
_KEPT_METADATA = ("kernelspec",)


@dataclass(frozen=True)
class CompiledNotebook:
    """Both versions of one source notebook, cells matched by id."""

    student: NotebookNode
    solution: NotebookNode
    # For each solution cell id: the source line number of each of its lines (for error messages).
    solution_lines: dict[str, tuple[int, ...]]
    source_index: dict[str, int]


def compile_notebook(source: NotebookNode, path: Path | str) -> CompiledNotebook:
    """Compile a whole source notebook; raise MarkerError naming the file, cell and line."""
    student_cells, solution_cells = [], []
    solution_lines: dict[str, tuple[int, ...]] = {}
    index_of: dict[str, int] = {}
    for index, cell in enumerate(source.cells):
        cell_id = _cell_id(cell, index, index_of, path)
        index_of[cell_id] = index
        text = cell_text(cell.source)
        if cell.cell_type == "code":
            try:
                compiled = compile_code(text)
            except MarkerProblem as problem:
                raise MarkerError(Location(path, index, cell_id, problem.line), problem.message) from None
            if compiled.audience in (BOTH, STUDENT_ONLY):
                student_cells.append(_code(compiled.student, cell_id, cell))
            if compiled.audience in (BOTH, SOLUTION_ONLY):
                solution_cells.append(_code(compiled.solution, cell_id, cell))
                solution_lines[cell_id] = compiled.solution_lines
            continue
        audience, text = _markdown_audience(text) if cell.cell_type == "markdown" else (BOTH, text)
        if cell.cell_type == "markdown" and (found := find_markers(text)):
            line, marker = found[0]
            raise MarkerError(
                Location(path, index, cell_id, line),
                f"solution marker '{marker}' in a markdown cell; markers only work in code cells "
                "(to show a markdown cell in one version only, start it with <!-- SOLUTION ONLY --> or <!-- STUDENT ONLY -->)",
            )
        if audience in (BOTH, STUDENT_ONLY):
            student_cells.append(_other(cell, text, cell_id))
        if audience in (BOTH, SOLUTION_ONLY):
            solution_cells.append(_other(cell, text, cell_id))
    metadata = {key: source.metadata[key] for key in _KEPT_METADATA if key in source.metadata}
    metadata["language_info"] = {"name": "python"}
    return CompiledNotebook(
        student=_notebook(student_cells, metadata),
        solution=_notebook(solution_cells, metadata),
        solution_lines=solution_lines,
        source_index=index_of,
    )


def _cell_id(cell: NotebookNode, index: int, seen: dict[str, int], path) -> str:
    """The source cell's id; a notebook saved without ids gets ones derived from cell positions."""
    cell_id = cell.get("id") or f"cell-{index}"
    if not _ID_OK.match(cell_id):
        raise MarkerError(Location(path, index, cell_id), "cell id must be 1-64 letters, digits, '-' or '_'")
    if cell_id in seen:
        raise MarkerError(Location(path, index, cell_id), f"cell id is also used by cell {seen[cell_id]}; ids must be unique")
    return cell_id


def _markdown_audience(text: str) -> tuple[str, str]:
    match = _MARKDOWN_AUDIENCE.match(text)
    if match is None:
        return BOTH, text
    return match[1], text[match.end():]


def _code(text: str, cell_id: str, original: NotebookNode) -> NotebookNode:
    return new_code_cell(text, id=cell_id, metadata=dict(original.get("metadata", {})))


def _other(cell: NotebookNode, text: str, cell_id: str) -> NotebookNode:
    maker = new_markdown_cell if cell.cell_type == "markdown" else new_raw_cell
    new = maker(text, id=cell_id, metadata=dict(cell.get("metadata", {})))
    if "attachments" in cell:
        new.attachments = cell.attachments
    return new


def _notebook(cells: list[NotebookNode], metadata: dict) -> NotebookNode:
    nb = new_notebook(cells=cells, metadata=dict(metadata))
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def serialize(nb: NotebookNode) -> bytes:
    """Notebook -> bytes, identical for identical notebooks (sorted keys, fixed indent, final newline)."""
    nbformat.validate(nb)
    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")
