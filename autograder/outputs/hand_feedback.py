"""How points given by hand read in the outputs: the grades.csv mark of a pending part, the
results.json test of a graded one, and feedback.md's score line and "Graded by hand" section.
Imports nothing heavy, so that the review page and CSV import start quickly."""
from __future__ import annotations

from ..scoring.points import HandScore

PENDING = "pending"  # grades.csv: a part graded by hand that no TA has graded yet
HAND_SUFFIX = ": graded by hand"


def hand_test(name: str, question_id: str, hand: HandScore, hand_max: float) -> dict:
    """A hand-graded part in results.json, once a TA graded it."""
    return {"name": f"{name}{HAND_SUFFIX}", "number": question_id, "score": round(hand.points, 4),
            "max_score": round(hand_max, 4), "output": hand.comment or "Graded by hand.", "visibility": "visible"}


def feedback_head(title: str, submission: str, score: float, max_score: float, pending: float) -> str:
    lines = [f"# {title}", "", f"Submission: `{submission}`", ""]
    if pending:
        lines += [f"**Score so far: {_num(score)} / {_num(max_score)}** ({_num(pending)} points graded by hand "
                  "are waiting for a TA)", ""]
    else:
        lines += [f"**Score: {_num(score)} / {_num(max_score)}**", ""]
    return "\n".join(lines) + "\n"


def hand_section(parts: list[tuple[str, HandScore | None, float]]) -> str:
    """The parts a TA grades: (question name, the TA's score or None, its points)."""
    if not parts:
        return ""
    lines = ["## Graded by hand", ""]
    for name, hand, most in parts:
        if hand is None:
            lines.append(f"- **{name}** — {_num(most)} points: waiting for a TA")
        elif hand.flagged:
            lines.append(f"- **{name}** — {_num(most)} points: your answer changed after it was graded; "
                         "waiting for a TA to look again")
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
