"""Figures of the staff report: per question (mean, median, spread, full marks), per test (pass
rate), the common failures with the submissions that have them. Unreadable files are counted
apart, never as zeros in a mean; parts still waiting for a TA are left out of their question's figures."""
from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass

from .hand_feedback import PENDING


@dataclass(frozen=True)
class QuestionStats:
    id: str
    name: str
    points: float
    graded: int       # submissions with points for it (pending and unreadable ones excluded)
    pending: int
    mean: float
    median: float
    spread: float     # standard deviation
    low: float
    high: float
    full: float       # share of graded submissions with full marks


@dataclass(frozen=True)
class TestStats:
    question: str
    name: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class Failure:
    test: str
    message: str
    count: int
    stems: tuple[str, ...]  # the first of them, linked from the report


def question_stats(rows: list[dict], questions: list[tuple[str, str, float]]) -> list[QuestionStats]:
    """`rows`: gradebook rows of the files that could be graded; `questions`: (id, name, points)."""
    found = []
    for question_id, name, points in questions:
        values = [float(r[question_id]) for r in rows if r.get(question_id) not in (None, "", PENDING)]
        pending = sum(1 for r in rows if r.get(question_id) == PENDING)
        if values:
            found.append(QuestionStats(question_id, name, points, len(values), pending, statistics.fmean(values),
                                       statistics.median(values), statistics.pstdev(values), min(values), max(values),
                                       sum(v >= points - 1e-3 for v in values) / len(values)))
        else:
            found.append(QuestionStats(question_id, name, points, 0, pending, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
    return found


def test_stats(tests: list[tuple[str, str]], failures_by_stem: dict[str, list[str]]) -> list[TestStats]:
    """`tests`: (question id, test label) of the assignment; each test's pass rate over the graded files."""
    failed: dict[str, int] = defaultdict(int)
    for labels in failures_by_stem.values():
        for label in set(labels):
            failed[label] += 1
    total = len(failures_by_stem)
    return [TestStats(question, label, total - failed[label], total) for question, label in tests]


def common_failures(records: dict[str, dict], most: int = 12, links: int = 50) -> list[Failure]:
    """The most frequent (test, reason) pairs, numbers blurred so that alike failures group, each
    with the submissions that have it (at most `links` of them)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for stem, record in records.items():
        for test, message in record.get("failures", [])[:500]:
            groups[(str(test)[:200], re.sub(r"-?\d+\.\d+", "#", str(message))[:160])].append(stem)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))[:most]
    return [Failure(test, message, len(set(stems)), tuple(sorted(set(stems)))[:links]) for (test, message), stems in ranked]
