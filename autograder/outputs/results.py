"""GradeReport -> what people read: Gradescope results.json, feedback.md, the grades.csv gradebook."""
from __future__ import annotations

import csv
import io
import json
import re

from ..config import AssignmentConfig
from ..i18n import _, language
from ..protocol.jobs import ERROR
from ..scoring.points import GradeReport, question_weights, test_points
from ..scoring.suite import HIDDEN
from ..wording import cell_note, missing_definition, traceback_text
from .hand_feedback import PENDING, feedback_head, hand_section, hand_test
from .spreadsheet import spreadsheet_text


def hidden_message() -> str:
    return _("This hidden test failed. Its details are not shown; check your code against the task.")


def results_json(report: GradeReport, config: AssignmentConfig, feedback: bytes | None = None) -> bytes:
    """The Gradescope autograder results schema: score, tests[] with visibility; its `output` is
    the whole of feedback.md (Markdown, `feedback` when the caller made it already), so that students
    on Gradescope read the same feedback.

    A part graded by hand enters only once a TA graded it (a test named '<question>: graded by
    hand'); until then it is left out of `score` and `max_score`, as Gradescope expects of an
    autograder whose assignment has parts graded in its own outline."""
    with language(config.language):
        return _results_json(report, config, feedback)


def _results_json(report: GradeReport, config: AssignmentConfig, feedback: bytes | None) -> bytes:
    tests = []
    for question in report.questions:
        weights = question_weights([o.test for o in question.outcomes])
        for outcome in question.outcomes:
            points = test_points(outcome.test, config, weights)
            tests.append({
                "name": f"{question.name}: {outcome.test.name}",
                "number": question.id,
                "score": round(points if outcome.passed else 0.0, 4),
                "max_score": round(points, 4),
                "output": _message(outcome),
                "output_format": "md",
                "visibility": outcome.test.visibility,
            })
        if question.hand and not question.pending:
            tests.append(hand_test(question.name, question.id, question.hand, question.hand_max))
    data = {
        "score": report.score,
        "max_score": report.max_score if report.error else round(report.max_score - report.pending_points, 4),
        "output": _feedback_text(report, config) if feedback is None else feedback.decode("utf-8"),
        "output_format": "md",
        "execution_time": round(report.seconds, 3),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def feedback_markdown(report: GradeReport, config: AssignmentConfig, body: str | None = None) -> bytes:
    """What the student reads: the score, each question's points, and what to fix (`body`: its automatic
    part, when the caller made it already with feedback_body)."""
    with language(config.language):
        return _feedback_text(report, config, body).encode("utf-8")


def _feedback_text(report: GradeReport, config: AssignmentConfig, body: str | None = None) -> str:
    body = feedback_body(report) if body is None else body
    head = feedback_head(config.title, report.submission, report.score, report.max_score,
                         0.0 if report.error else report.pending_points)
    hand = [] if report.error else [(q.name, q.hand, q.hand_max) for q in report.questions if q.hand_max]
    return head + body + hand_section(hand)


def feedback_body(report: GradeReport) -> str:
    """The automatic part of the feedback: each question's tests and what went wrong while running."""
    lines = []
    if report.error:
        lines += [_("Your file could not be graded:"), "", f"> {report.error}", ""]
    for question in report.questions:
        if question.hand_max and not question.outcomes:
            continue  # graded by hand only: in the section below
        test_max = question.max_score - question.hand_max
        by_tests = " " + _("(tests; the rest is graded by hand)") if question.hand_max else ""
        lines.append(f"## {question.name} — {_num(question.test_score)} / {_num(test_max)}{by_tests}")
        lines.append("")
        for outcome in question.outcomes:
            mark = "✅" if outcome.passed else "❌"
            hidden = " " + _("(hidden test)") if outcome.test.visibility == HIDDEN else ""
            lines.append(f"- {mark} {outcome.test.name}{hidden}")
            if not outcome.passed:
                lines.append(f"  - {_message(outcome)}")
        lines.append("")
    problems = _cell_problems(report)
    if problems or report.notes:
        lines += ["## " + _("While running your notebook"), ""]
        lines += [f"- {note}" for note in report.notes]
        lines += problems
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def graded_notebook(report: GradeReport, feedback: bytes, test_cells: dict[str, str],
                    config: AssignmentConfig | None = None) -> bytes:
    """The notebook as it ran, each cell with its output, and beside each cell the outcome of the
    tests that check its values (`test_cells`: test function -> cell id) and its own problems;
    the whole `feedback` (feedback.md) on top.

    Built as plain nbformat 4.5 JSON: schema validation of every cell would cost more than grading
    the notebook's answers (the tests validate the result)."""
    with language(config.language if config is not None else "en"):
        return _graded_notebook(report, feedback, test_cells)


def _graded_notebook(report: GradeReport, feedback: bytes, test_cells: dict[str, str]) -> bytes:
    cells = [_markdown(feedback.decode("utf-8"))]
    beside: dict[str, list[str]] = {}
    for question in report.questions:
        for outcome in question.outcomes:
            cell_id = test_cells.get(outcome.test.function_name)
            if cell_id:
                mark = "✅" if outcome.passed else "❌"
                line = f"{mark} **{question.name}**: {outcome.test.name}"
                beside.setdefault(cell_id, []).append(line if outcome.passed else f"{line} — {_message(outcome)}")
    for index, result in enumerate(report.cells):
        outputs: list[dict] = []
        if result.output:
            outputs.append({"output_type": "stream", "name": "stdout", "text": result.output})
        outputs += [{"output_type": "display_data", "data": {"image/png": png}, "metadata": {}} for png in result.figures]
        if result.error:
            outputs.append({"output_type": "error", "ename": result.error["ename"],
                            "evalue": traceback_text(result.error["evalue"], report.cells),
                            "traceback": traceback_text(result.error["traceback"], report.cells).splitlines()})
        cells.append({"cell_type": "code", "execution_count": None, "outputs": outputs, "source": result.source,
                      "metadata": {"autograder": {"origin": result.origin, "status": result.status, "cell": result.id}}})
        note = cell_note(result, report.cells[:index])
        lines = ([f"**{result.label}:** {note}"] if note else []) + beside.get(result.id, [])
        if lines:
            cells.append(_markdown("\n".join(f"> {line}  " for line in lines)))
    for index, cell in enumerate(cells):
        cell["id"] = f"graded-{index}"
    nb = {"cells": cells, "metadata": {"autograder": {"graded": report.submission}}, "nbformat": 4, "nbformat_minor": 5}
    # One line: Jupyter does not mind, and the C encoder is five times faster than an indenting one.
    return (json.dumps(nb, ensure_ascii=False) + "\n").encode("utf-8")


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def grades_csv(reports: list[GradeReport], config: AssignmentConfig) -> bytes:
    """One row per file: the points so far, and per question its points or `pending` (a part graded
    by hand that no TA has graded yet); its file name made inert for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score"] + [q.id for q in config.questions])
    for report in reports:
        by_id = {q.id: q for q in report.questions}
        cells = [PENDING if (q := by_id.get(c.id)) and q.pending and not report.error
                 else _num(q.score if q else 0.0) for c in config.questions]
        writer.writerow([spreadsheet_text(report.submission), _num(report.score), _num(report.max_score)] + cells)
    return buffer.getvalue().encode("utf-8")


def _message(outcome) -> str:
    if outcome.passed:
        return _("passed")
    return hidden_message() if outcome.test.visibility == HIDDEN else outcome.message


def _cell_problems(report: GradeReport) -> list[str]:
    lines = []
    for index, cell in enumerate(report.cells):
        earlier = report.cells[:index]
        note = cell_note(cell, earlier)
        if note:
            lines.append(f"- {cell.label}: {note}")
        if cell.status == ERROR and cell.error and missing_definition(cell, earlier) is None:  # else the cause says it all
            tail = "\n".join(traceback_text(cell.error["traceback"], report.cells).strip().splitlines()[-6:])
            fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", tail)), default=0))  # theirs cannot close it
            lines += ["", "  " + fence, *("  " + line for line in tail.splitlines()), "  " + fence, ""]
    return lines


def _num(value: float) -> str:
    return f"{value:g}"
