"""The visible checks handed out with the student notebook (`<slug>_checks.json`), and the
`grader.check` cells that run them in the student's kernel (`notebook_checks: true`).

A check ships only if it compares a `<cell id>:<variable or expression>` probe that visible tests
read and no hidden test reads: its expected value is then one a failing visible test shows anyway,
computed from the lesson's own data (`probes.value` for a function or class on the lesson's inputs).
"""
from __future__ import annotations

import json

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from ..config import AssignmentConfig
from ..notebooks import PLACEHOLDER, cell_text
from ..scoring.suite import VISIBLE, Suite
from ..testing import Run

SETUP_ID = "grader-setup"


def shippable_checks(suite: Suite, reads: dict[str, set[str]], config: AssignmentConfig) -> dict[str, list[str]]:
    """question id -> the probes its visible tests alone compare (`reads`: test -> probes read)."""
    visible: dict[str, set[str]] = {}
    hidden: set[str] = set()
    for test in suite.tests:
        names = reads[test.function_name]
        if test.visibility == VISIBLE:
            visible.setdefault(test.question, set()).update(names)
        else:
            hidden |= names
    return {q.id: sorted(n for n in visible.get(q.id, set()) if ":" in n and n not in hidden)
            for q in config.questions if visible.get(q.id)}


def checks_file(student: NotebookNode, slug: str, config: AssignmentConfig, checks: dict[str, list[str]],
                reference: Run, files: list[str]) -> bytes:
    """The checks file: per question, what to read after which cell and the solution's value;
    each cell's signature (its released lines without the placeholders) finds it in a kernel that
    does not say which cell ran; `files`: the assignment files the notebook reads; `by_hand`: the
    questions only a TA grades."""
    cells = {cell.id: cell for cell in student.cells if cell.cell_type == "code"}
    questions = {}
    for question in config.questions:
        probes = [name for name in checks.get(question.id, []) if name.split(":", 1)[0] in cells]
        if probes:
            questions[question.id] = {"name": question.name, "checks": [
                {"cell": cell_id, "variable": expression, "value": reference._probes[name].value,
                 "signature": signature(cell_text(cells[cell_id].source))}
                for name in probes for cell_id, expression in [name.split(":", 1)]]}
    data = {"assignment": slug, "language": config.language, "files": sorted(files), "questions": questions}
    by_hand = [question.name for question in config.questions if question.manual and question.id not in questions]
    if by_hand:  # named by the check, so that a student does not take them for questions it forgot
        data["by_hand"] = by_hand
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def signature(source: str) -> list[str]:
    """What a student's version of a released cell keeps: its lines up to any placeholder, stripped."""
    return [kept for line in source.splitlines() if (kept := line.split(PLACEHOLDER)[0].strip())]


def add_check_cells(student: NotebookNode, slug: str, config: AssignmentConfig, checks: dict[str, list[str]]) -> None:
    """A setup cell first, and a `grader.check("q")` cell after the last cell each question's checks read."""
    position = {cell.id: index for index, cell in enumerate(student.cells)}
    after = []
    for question in config.questions:
        cells = [name.split(":", 1)[0] for name in checks.get(question.id, []) if name.split(":", 1)[0] in position]
        if cells:
            after.append((max(position[cell] for cell in cells), question.id))
    for index, question_id in sorted(after, reverse=True):
        student.cells.insert(index + 1, new_code_cell(f'grader.check("{question_id}")', id=f"check-{question_id}"))
    first_code = next(i for i, cell in enumerate(student.cells) if cell.cell_type == "code")
    setup = ("# 이 셀은 각 문제 아래의 grader.check(...) 셀을 준비합니다.\n"
             "from autograder.notebook_check import Checker\n\n"
             f'grader = Checker("{slug}_checks.json", language="{config.language}")')
    student.cells.insert(first_code, new_code_cell(setup, id=SETUP_ID))
