"""Which visible checks can be handed to students, and where their `grader.check` cells go.

A check ships only if it compares a variable (a `<cell id>:<variable>` probe) that visible tests
read and no hidden test reads: its expected value is then already shown by a failing visible test.
"""
from __future__ import annotations

import json

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from ..config import AssignmentConfig
from ..scoring.suite import VISIBLE, Suite
from ..testing import Run

SETUP_ID = "grader-setup"


def shippable_checks(suite: Suite, reads: dict[str, set[str]], config: AssignmentConfig) -> dict[str, list[str]]:
    """question id -> the variable probes its visible tests alone compare (`reads`: test -> probes read)."""
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


def add_checks(student: NotebookNode, slug: str, config: AssignmentConfig, checks: dict[str, list[str]],
               reference: Run) -> bytes:
    """Insert the setup and `grader.check` cells into the student notebook; return the checks file."""
    position = {cell.id: index for index, cell in enumerate(student.cells)}
    after: list[tuple[int, str]] = []
    questions = {}
    for question in config.questions:
        probes = [name for name in checks.get(question.id, []) if name.split(":")[0] in position]
        if not probes:
            continue
        questions[question.id] = {"name": question.name, "checks": [
            {"cell": name.split(":", 1)[0], "variable": name.split(":", 1)[1], "value": reference._probes[name].value}
            for name in probes]}
        after.append((max(position[name.split(":")[0]] for name in probes), question.id))
    for index, question_id in sorted(after, reverse=True):
        student.cells.insert(index + 1, new_code_cell(f'grader.check("{question_id}")', id=f"check-{question_id}"))
    first_code = next(i for i, cell in enumerate(student.cells) if cell.cell_type == "code")
    setup = ("# 이 셀은 각 문제 아래의 grader.check(...) 셀을 준비합니다.\n"
             f'from autograder.notebook_check import Checker\n\ngrader = Checker("{slug}_checks.json")')
    student.cells.insert(first_code, new_code_cell(setup, id=SETUP_ID))
    data = {"assignment": slug, "language": config.language, "questions": questions}
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
