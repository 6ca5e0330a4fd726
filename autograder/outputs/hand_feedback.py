"""How points given by hand read in the outputs: the grades.csv mark of a pending part, the
results.json test of a graded one, and feedback.md's score line and "Graded by hand" section.
Imports nothing heavy, so that the review page and CSV import start quickly."""
from __future__ import annotations

from ..i18n import _
from ..scoring.points import HandScore
from ..wording import code

PENDING = "pending"  # grades.csv: a part graded by hand that no TA has graded yet
HAND_SUFFIX = ": graded by hand"


def hand_test(name: str, question_id: str, hand: HandScore, hand_max: float) -> dict:
    """A hand-graded part in results.json, once a TA graded it."""
    return {"name": f"{name}{HAND_SUFFIX}", "number": question_id, "score": round(hand.points, 4),
            "max_score": round(hand_max, 4), "output": hand.comment or _("Graded by hand."), "visibility": "visible"}


def feedback_head(title: str, submission: str, score: float, max_score: float, pending: float) -> str:
    """The title and score (in the language of the caller's `with language(...)`)."""
    lines = [f"# {title}", "", _("Submission: {file}").format(file=code(submission)), ""]
    if pending:
        lines += ["**" + _("Score so far: {score} / {max_score}").format(score=_num(score), max_score=_num(max_score))
                  + "** " + _("({points} points graded by hand are waiting for a TA)").format(points=_num(pending)), ""]
    else:
        lines += ["**" + _("Score: {score} / {max_score}").format(score=_num(score), max_score=_num(max_score)) + "**", ""]
    return "\n".join(lines) + "\n"


def hand_section(parts: list[tuple[str, HandScore | None, float]]) -> str:
    """The parts a TA grades: (question name, the TA's score or None, its points)."""
    if not parts:
        return ""
    lines = ["## " + _("Graded by hand"), ""]
    for name, hand, most in parts:
        if hand is None:
            lines.append(f"- **{name}** — " + _("{points} points: waiting for a TA").format(points=_num(most)))
        elif hand.flagged:
            lines.append(f"- **{name}** — " + _("{points} points: your answer changed after it was graded; "
                                               "waiting for a TA to look again").format(points=_num(most)))
        else:
            lines.append(f"- **{name}** — {_num(hand.points)} / {_num(most)}")
            if hand.comment:
                lines += [f"  > {line}" for line in _plain(hand.comment).splitlines()]
    return "\n".join(lines) + "\n\n"


def _plain(text: str) -> str:
    """A TA's comment shown as text in Markdown, never as HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _num(value: float) -> str:
    return f"{value:g}"
