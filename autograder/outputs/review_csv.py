"""Hand-graded points as CSV (`submission,question,points,comment`), for TAs who grade offline:
an export to fill in, and an import that takes every row or, when one is wrong, none."""
from __future__ import annotations

import csv
import io
import json
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import AutograderError, Location
from ..files import write_atomically
from .hand_answers import ANSWERS
from .hand_grades import FolderQuestions, folder_lock, read_questions, rewrite_folder, submission_stems
from .review_store import Given, NotStored, ReviewStore
from .spreadsheet import plain_text, spreadsheet_text

COLUMNS = ["submission", "question", "points", "comment"]
MAX_SHEET_BYTES = 20 << 20


@dataclass(frozen=True)
class Entry:
    stem: str
    question: str
    points: float
    comment: str
    line: int  # in the sheet, for errors


def export_scores(folder: Path, store: ReviewStore, path: Path) -> int:
    """One row per submission and hand-graded question, points blank where none is given yet; returns the rows."""
    questions = read_questions(folder)
    records = submission_stems(folder)
    scores = store.scores()
    names = _names(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for stem, record in records.items():
        if record.get("error"):
            continue
        for question in questions.hand:
            given = scores.get((stem, question.id))
            points = "" if given is None or given.flagged else f"{given.points:g}"
            comment = given.comment if given else ""
            writer.writerow([spreadsheet_text(names[stem]), question.id, points, spreadsheet_text(comment)])
            count += 1
    write_atomically({path: buffer.getvalue().encode("utf-8")})
    return count


def import_scores(folder: Path, store: ReviewStore, path: Path, grader: str) -> int:
    """Record every row with points; rows with blank points are skipped. Nothing is recorded when
    any row is wrong: the error names each wrong line. Returns the number recorded."""
    questions = read_questions(folder)
    records = submission_stems(folder)
    entries = _read(path, questions, records)
    given = [Given(e.stem, e.question, e.points, e.comment, _answer_hash(folder, e.stem, e.question)) for e in entries]
    try:
        store.give_many(given, grader, what="imported")  # the whole sheet or, when a row cannot be stored, nothing
    except NotStored as failed:
        raise AutograderError(Location(path, line=entries[failed.index].line),
                              f"nothing imported: this row could not be stored in {store.path} ({failed.reason})") from None
    with folder_lock(folder):
        rewrite_folder(folder, store, sorted({e.stem for e in entries}))
    return len(entries)


def _read(path: Path, questions: FolderQuestions, records: dict[str, dict]) -> list[Entry]:
    text = _sheet_text(path)
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:  # a field over csv's size limit, say: a sheet that was not saved as CSV
        raise AutograderError(Location(path, line=reader.line_num), f"not a CSV sheet ({exc})") from None
    if not rows or [c.strip().lower() for c in rows[0][:4]] != COLUMNS:
        raise AutograderError(Location(path, line=1), f"the first line must be the header {','.join(COLUMNS)}")
    stems = _lookup(records)
    problems, entries = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            problems.append(f"line {line}: expected {len(COLUMNS)} columns, got {len(row)}")
            continue
        name, question_id, points_text = (plain_text(c.strip()) for c in row[:3])
        comment = plain_text(row[3]) if len(row) > 3 else ""
        if not points_text:
            continue
        stem = stems.get(name)
        question = questions.find(question_id)
        if stem is None:
            problems.append(f"line {line}: no graded submission '{name[:80]}' in this folder")
        elif records[stem].get("error"):
            problems.append(f"line {line}: '{name[:80]}' could not be graded (unreadable file); it has nothing to grade by hand")
        elif question is None:
            known = ", ".join(q.id for q in questions.hand) or "none"
            problems.append(f"line {line}: '{question_id[:40]}' is not a question graded by hand (those are: {known})")
        else:
            try:
                points = float(points_text)
            except ValueError:
                problems.append(f"line {line}: points '{points_text[:20]}' is not a number")
                continue
            if not 0 <= points <= question.points:
                problems.append(f"line {line}: {points:g} points for {question.id}, which is worth 0 to {question.points:g}")
            else:
                entries.append(Entry(stem, question.id, points, comment, line))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise AutograderError(path, f"nothing imported: {shown}")
    return entries


def _sheet_text(path: Path) -> str:
    """The sheet's text: a regular file of bounded size (never a pipe that blocks), UTF-8."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise AutograderError(path, "not a file; give the CSV sheet the export wrote")
        if status.st_size > MAX_SHEET_BYTES:
            raise AutograderError(path, f"{status.st_size >> 20} MB is too large for a sheet of scores "
                                        f"(at most {MAX_SHEET_BYTES >> 20} MB)")
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise AutograderError(path, "file not found") from None
    except UnicodeDecodeError:
        raise AutograderError(path, "not UTF-8 text; save the sheet as CSV UTF-8") from None
    except OSError as exc:
        raise AutograderError(path, f"cannot be read ({exc.strerror or exc})") from None


def _names(records: dict[str, dict]) -> dict[str, str]:
    """Folder name -> how the CSV names it: the file name when no other file has it, else the folder."""
    counts: dict[str, int] = {}
    for record in records.values():
        counts[str(record.get("submission"))] = counts.get(str(record.get("submission")), 0) + 1
    return {stem: str(r.get("submission")) if counts[str(r.get("submission"))] == 1 else stem for stem, r in records.items()}


def _lookup(records: dict[str, dict]) -> dict[str, str]:
    """What a CSV may call a submission (its folder name, or its file name when unique) -> folder name."""
    found = {name: stem for stem, name in _names(records).items()}
    found.update({stem: stem for stem in records})
    return found


def _answer_hash(folder: Path, stem: str, question: str) -> str:
    try:
        return str(json.loads((folder / stem / ANSWERS).read_text(encoding="utf-8"))[question]["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
