"""Test outcomes -> points: each question's points are shared among its tests by weight."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..config import AssignmentConfig
from ..protocol.messages import CellResult

if TYPE_CHECKING:  # the suite imports pytest and torch; the review page needs neither
    from .suite import SuiteTest, TestOutcome


@dataclass(frozen=True)
class HandScore:
    """Points a TA gave on the review page. `flagged`: the answer changed since, so they wait for a new look."""

    points: float
    comment: str = ""
    grader: str = ""
    at: str = ""
    flagged: bool = False


@dataclass(frozen=True)
class QuestionScore:
    id: str
    name: str
    score: float  # points earned so far: the tests' share, plus the TA's once given
    max_score: float
    outcomes: tuple[TestOutcome, ...]
    hand_max: float = 0.0  # the part of max_score a TA gives
    hand: HandScore | None = None

    @property
    def pending(self) -> bool:
        """A part graded by hand that no TA has graded (or must look at again)."""
        return self.hand_max > 0 and (self.hand is None or self.hand.flagged)

    @property
    def test_score(self) -> float:
        return round(self.score - (self.hand.points if self.hand and not self.hand.flagged else 0.0), 4)

    def with_hand(self, hand: HandScore | None) -> QuestionScore:
        """This score with the TA's points in place of the earlier ones (a flagged entry counts nothing)."""
        if not self.hand_max:
            return self
        earned = self.test_score + (hand.points if hand and not hand.flagged else 0.0)
        return replace(self, score=round(earned, 4), hand=hand)


@dataclass(frozen=True)
class GradeReport:
    """Everything known about one graded submission; the reporters only present it."""

    submission: str           # the file name as given
    stem: str                 # the name of its result folder, unique within the batch
    questions: tuple[QuestionScore, ...]
    cells: tuple[CellResult, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None  # set when the file could not be graded at all
    seconds: float = 0.0      # grading this file, from reading it to its scores
    peak_memory: int | None = None  # bytes used by its worker at most (where cgroups are available)
    second_run_seconds: float | None = None  # the run on varied lesson data, when one was needed

    @property
    def score(self) -> float:
        return round(sum(q.score for q in self.questions), 4)

    @property
    def max_score(self) -> float:
        return round(sum(q.max_score for q in self.questions), 4)

    @property
    def pending_points(self) -> float:
        """Points that wait for a TA."""
        return round(sum(q.hand_max for q in self.questions if q.pending), 4)


def test_points(test: SuiteTest, config: AssignmentConfig, weights: dict[str, float]) -> float:
    """The most this test can earn: its share of its question's points."""
    question = config.question(test.question)
    if question is None:  # load_suite checks every test's question exists
        raise KeyError(test.question)
    return question.test_points * test.weight / weights[question.id]


def score_questions(config: AssignmentConfig, outcomes: list[TestOutcome]) -> tuple[QuestionScore, ...]:
    weights = question_weights([o.test for o in outcomes])
    scores = []
    for question in config.questions:
        mine = tuple(o for o in outcomes if o.test.question == question.id)
        earned = sum(test_points(o.test, config, weights) for o in mine if o.passed)
        scores.append(QuestionScore(question.id, question.name, round(earned, 4), question.points, mine, question.hand_points))
    return tuple(scores)


def zero_scores(config: AssignmentConfig) -> tuple[QuestionScore, ...]:
    """The scores of a file that could not be graded: every question at zero."""
    return tuple(QuestionScore(q.id, q.name, 0.0, q.points, (), q.hand_points) for q in config.questions)


def question_weights(tests: list[SuiteTest]) -> dict[str, float]:
    """question id -> the total weight of its tests."""
    weights: dict[str, float] = {}
    for test in tests:
        weights[test.question] = weights.get(test.question, 0.0) + test.weight
    return weights
