"""Hand-graded points into a graded folder: a report's scores with the TA's points, and the folder's
results.json, feedback.md and grades.csv written again from the review database.

What a rewrite needs is in the folder itself (questions.json, and per submission record.json and
results.json), so the review page and `--import` work on any graded folder, also after `merge`.
"""
from __future__ import annotations

import csv
import fcntl
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import AssignmentConfig
from ..errors import AutograderError
from ..files import write_atomically
from ..i18n import LANGUAGES, language
from ..scoring.points import GradeReport, HandScore
from .hand_feedback import HAND_SUFFIX, PENDING, feedback_head, hand_section, hand_test
from .review_store import ReviewStore
from .spreadsheet import spreadsheet_text

QUESTIONS = "questions.json"
RECORD = "record.json"


@dataclass(frozen=True)
class HandQuestion:
    id: str
    name: str
    points: float  # the part a TA gives
    rubric: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class FolderQuestions:
    """What a graded folder says about its assignment: title, question order, the hand-graded parts."""

    title: str
    order: tuple[str, ...]
    hand: tuple[HandQuestion, ...]
    language: str = "en"  # of the students' feedback

    def find(self, question_id: str) -> HandQuestion | None:
        return next((q for q in self.hand if q.id == question_id), None)


def questions_json(config: AssignmentConfig, handout: list[str]) -> bytes:
    """The assignment as the folder's readers need it; `handout`: the code cells students were given
    (the staff report's similarity leaves that code out)."""
    data = {"title": config.title, "language": config.language, "questions": [
        {"id": q.id, "name": q.name, "points": q.points, "hand_points": q.hand_points, "rubric": q.rubric,
         "cells": list(q.cells)} for q in config.questions], "handout": handout}
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def read_questions(folder: Path) -> FolderQuestions:
    path = folder / QUESTIONS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return FolderQuestions(str(data["title"]), tuple(str(q["id"]) for q in data["questions"]), tuple(
            HandQuestion(str(q["id"]), str(q["name"]), float(q["hand_points"]), str(q.get("rubric", "")),
                         tuple(map(str, q.get("cells", ())))) for q in data["questions"] if q.get("hand_points")),
            str(data.get("language", "en")) if data.get("language") in LANGUAGES else "en")
    except FileNotFoundError:
        raise AutograderError(path, "missing; is this the --out folder of `autograder grade`?") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise AutograderError(path, f"unreadable ({exc}); grade the folder again") from None


def with_hand_scores(report: GradeReport, hands: dict[str, HandScore]) -> GradeReport:
    """The report with the TA's points for each hand-graded part (question id -> score)."""
    if report.error or not any(q.hand_max for q in report.questions):
        return report
    return replace(report, questions=tuple(q.with_hand(hands.get(q.id)) for q in report.questions))


def submission_stems(folder: Path) -> dict[str, dict]:
    """Result folder name -> its record.json, for every submission graded into `folder`."""
    records = {}
    for path in sorted(folder.glob(f"*/{RECORD}")):
        try:
            records[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a half-copied folder: not graded as far as this folder knows
    return records


def rewrite_submission(folder: Path, stem: str, record: dict, questions: FolderQuestions,
                       hands: dict[str, HandScore]) -> None:
    """results.json, feedback.md and the graded notebook's feedback of one submission, from its record
    and the TA's points."""
    with language(questions.language):
        _rewrite_submission(folder, stem, record, questions, hands)


def _rewrite_submission(folder: Path, stem: str, record: dict, questions: FolderQuestions,
                        hands: dict[str, HandScore]) -> None:
    if record.get("error") or "feedback_body" not in record:
        return  # nothing to grade by hand in a file that could not be read
    test_total = sum(float(v) for v in record.get("scores", {}).values())
    max_total = sum(float(v) for v in record.get("max_scores", {}).values())
    counted = {q.id: hands[q.id] for q in questions.hand if q.id in hands and not hands[q.id].flagged}
    pending = sum(q.points for q in questions.hand if q.id not in counted)
    score = round(test_total + sum(h.points for h in counted.values()), 4)
    results_path = folder / stem / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8"))
    hand_ids = {q.id for q in questions.hand}
    tests = [t for t in results.get("tests", []) if not (t.get("number") in hand_ids and
                                                           str(t.get("name", "")).endswith(HAND_SUFFIX))]
    tests += [hand_test(q.name, q.id, counted[q.id], q.points) for q in questions.hand if q.id in counted]
    feedback = (feedback_head(questions.title, record["submission"], score, max_total, pending) + record["feedback_body"]
                + hand_section([(q.name, hands.get(q.id), q.points) for q in questions.hand]))
    # Gradescope shows the whole feedback, as feedback.md.
    results.update(score=score, max_score=round(max_total - pending, 4), output=feedback, tests=tests)
    files = {results_path: (json.dumps(results, ensure_ascii=False, indent=1) + "\n").encode("utf-8"),
             folder / stem / "feedback.md": feedback.encode("utf-8")}
    graded = folder / stem / "graded.ipynb"
    if graded.is_file():
        notebook = json.loads(graded.read_text(encoding="utf-8"))
        if notebook.get("cells"):
            notebook["cells"][0]["source"] = feedback
            files[graded] = (json.dumps(notebook, ensure_ascii=False) + "\n").encode("utf-8")
    write_atomically(files, durable=False)


def rewrite_gradebook(folder: Path, questions: FolderQuestions, records: dict[str, dict],
                      scores: dict[tuple[str, str], HandScore]) -> None:
    """grades.csv again, each row's hand-graded columns and score from the database."""
    book = folder / "grades.csv"
    with book.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    for row, stem in zip(body, row_stems([row[0] for row in body], records)):
        if stem is None:
            continue
        record = records[stem]
        if record.get("error"):
            continue
        total = sum(float(v) for v in record.get("scores", {}).values())
        values = dict(zip(header, row))
        for question in questions.hand:
            hand = scores.get((stem, question.id))
            test_part = float(record.get("scores", {}).get(question.id, 0.0))
            if hand is None or hand.flagged:
                values[question.id] = PENDING
            else:
                values[question.id] = f"{test_part + hand.points:g}"
                total += hand.points
        values["score"] = f"{round(total, 4):g}"
        row[:] = [values.get(column, "") for column in header]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *body])
    write_atomically({book: buffer.getvalue().encode("utf-8")})


def row_stems(names: list[str], records: dict[str, dict]) -> list[str | None]:
    """The result folder of each gradebook row (by file name as grades.csv shows it; x, x-2, ... for
    files sharing a name)."""
    stems_of: dict[str, list[str]] = {}
    for stem, record in sorted(records.items(), key=lambda item: _stem_order(item[0])):
        # grades.csv holds names as a spreadsheet reads them; record.json as they are.
        stems_of.setdefault(spreadsheet_text(str(record.get("submission"))), []).append(stem)
    seen: dict[str, int] = {}
    found: list[str | None] = []
    for name in names:
        index = seen.get(name, 0)
        seen[name] = index + 1
        stems = stems_of.get(name, [])
        found.append(stems[index] if index < len(stems) else None)
    return found


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One writer of the folder's files at a time, across review pages and imports."""
    with open(folder / ".review.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rewrite_folder(folder: Path, store: ReviewStore, stems: list[str] | None = None) -> None:
    """Every output that shows hand-graded points, for `stems` (default: all) and the gradebook."""
    questions = read_questions(folder)
    records = submission_stems(folder)
    scores = store.scores()
    for stem in stems if stems is not None else list(records):
        if stem in records:
            hands = {q: score for (s, q), score in scores.items() if s == stem}
            rewrite_submission(folder, stem, records[stem], questions, hands)
    rewrite_gradebook(folder, questions, records, scores)


def _stem_order(stem: str) -> tuple[str, int]:
    """x, x-2, x-3: the order in which a batch named folders of files with the same name."""
    match = re.fullmatch(r"(.*)-(\d+)", stem)
    return (match.group(1), int(match.group(2))) if match else (stem, 1)
