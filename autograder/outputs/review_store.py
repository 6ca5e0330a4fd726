"""Points and comments TAs give by hand, in SQLite next to the graded folder, with every change kept.

WAL mode and short write transactions let several TAs (several review pages, an import) write at
once without losing an entry; each write waits for the others instead of failing.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import AutograderError
from ..scoring.points import HandScore

DATABASE = "review.sqlite"
MAX_COMMENT = 5000  # characters of a comment kept, from the page or an imported sheet
_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    submission TEXT NOT NULL, question TEXT NOT NULL, points REAL NOT NULL, comment TEXT NOT NULL,
    grader TEXT NOT NULL, at TEXT NOT NULL, answer_hash TEXT NOT NULL, flagged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (submission, question));
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, submission TEXT NOT NULL, question TEXT NOT NULL,
    points REAL, comment TEXT NOT NULL, grader TEXT NOT NULL, at TEXT NOT NULL, what TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Given:
    """Points to record for one answer: whose, which question, and the hash of the answer they were given for."""

    submission: str
    question: str
    points: float
    comment: str
    answer_hash: str


class NotStored(Exception):
    """Entry `index` of a give_many could not be stored (nothing of that call was); `reason` says why."""

    def __init__(self, index: int, reason: str):
        super().__init__(f"entry {index}: {reason}")
        self.index, self.reason = index, reason


@dataclass(frozen=True)
class Change:
    """One line of the audit trail: who changed which score, when, and how."""

    submission: str
    question: str
    points: float | None
    comment: str
    grader: str
    at: str
    what: str  # "graded", "imported", "answer changed"


class ReviewStore:
    """The review database of one graded folder (`DIR/review.sqlite` unless told otherwise)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.RLock()  # one connection, used by a web server's threads in turn
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise AutograderError(path, f"cannot be used as the review database ({exc})") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock at once, so two writers queue
        instead of one failing halfway."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def give(self, submission: str, question: str, points: float, comment: str, grader: str, answer_hash: str,
             what: str = "graded") -> HandScore:
        """Record a TA's points for one answer (replacing earlier ones) and the change itself."""
        return self.give_many([Given(submission, question, points, comment, answer_hash)], grader, what)[0]

    def give_many(self, entries: Sequence[Given], grader: str, what: str) -> list[HandScore]:
        """Record several answers' points in one transaction: all of them, or none when one cannot be stored
        (NotStored names which)."""
        at = _now()
        with self._write() as db:
            for index, entry in enumerate(entries):
                comment = entry.comment[:MAX_COMMENT]
                try:
                    db.execute("INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (submission, question) "
                               "DO UPDATE SET points=excluded.points, comment=excluded.comment, grader=excluded.grader, "
                               "at=excluded.at, answer_hash=excluded.answer_hash, flagged=0",
                               (entry.submission, entry.question, entry.points, comment, grader, at, entry.answer_hash))
                    db.execute("INSERT INTO changes (submission, question, points, comment, grader, at, what) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (entry.submission, entry.question, entry.points, comment, grader, at, what))
                except sqlite3.Error as exc:
                    raise NotStored(index, str(exc)) from None
        return [HandScore(entry.points, entry.comment[:MAX_COMMENT], grader, at) for entry in entries]

    def flag_changed(self, submission: str, answers: dict[str, str]) -> list[str]:
        """Flag the scores of `submission` whose answer hash is not the current one (question -> hash);
        returns the questions flagged now."""
        flagged = []
        with self._write() as db:
            rows = db.execute("SELECT question, answer_hash, flagged FROM scores WHERE submission = ?", (submission,))
            for question, stored, already in rows.fetchall():
                if question in answers and answers[question] != stored and not already:
                    db.execute("UPDATE scores SET flagged = 1 WHERE submission = ? AND question = ?", (submission, question))
                    db.execute("INSERT INTO changes (submission, question, points, comment, grader, at, what) "
                               "VALUES (?, ?, NULL, '', 'autograder', ?, 'answer changed')", (submission, question, _now()))
                    flagged.append(question)
        return flagged

    def scores(self, submission: str | None = None) -> dict[tuple[str, str], HandScore]:
        """(submission, question) -> the score given, for one submission or all."""
        query = "SELECT submission, question, points, comment, grader, at, flagged FROM scores"
        with self._lock:
            rows = self._db.execute(query + " WHERE submission = ?", (submission,)) if submission is not None \
                else self._db.execute(query)
            found = rows.fetchall()
        return {(s, q): HandScore(p, c, g, a, bool(f)) for s, q, p, c, g, a, f in found}

    def changes(self) -> list[Change]:
        with self._lock:
            rows = self._db.execute("SELECT submission, question, points, comment, grader, at, what FROM changes "
                                    "ORDER BY id").fetchall()
        return [Change(*row) for row in rows]


def open_store(folder: Path, path: Path | None = None) -> ReviewStore:
    return ReviewStore(path or folder / DATABASE)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
