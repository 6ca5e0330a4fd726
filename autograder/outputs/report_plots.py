"""The staff report's charts (matplotlib, PNG in the page). Question and file names are student or
instructor text: drawn as plain text (never parsed as mathematics), Korean with a CJK font when one is installed."""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

_CJK = ("Noto Sans CJK KR", "Noto Sans CJK JP", "NanumGothic")


def _style() -> dict:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    families = [name for name in _CJK if name in installed] + ["DejaVu Sans"]
    return {"text.parse_math": False, "font.family": families, "axes.unicode_minus": False}


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _short(text: str, most: int = 28) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def score_plot(scores: list[float], max_score: float) -> str:
    with plt.rc_context(_style()):
        figure, axes = plt.subplots(figsize=(5.5, 3.2))
        axes.hist(scores, bins=min(20, max(5, len(set(scores)))), range=(0, max_score or 1), color="#4c72b0",
                  edgecolor="white")
        axes.set(title="Score distribution (graded files)", xlabel=f"score (of {max_score:g})", ylabel="submissions")
        return _png(figure)


def question_plot(names: list[str], means: list[float], full: list[float]) -> str:
    """Per question: mean share of its points and share of full marks, named by the question."""
    with plt.rc_context(_style()):
        figure, axes = plt.subplots(figsize=(5.5, max(3.2, 0.32 * len(names) + 1)))
        rows = range(len(names))
        axes.barh([r + 0.2 for r in rows], [m * 100 for m in means], height=0.4, color="#4c72b0", label="mean % of points")
        axes.barh([r - 0.2 for r in rows], [f * 100 for f in full], height=0.4, color="#55a868", label="% with full marks")
        axes.set_yticks(list(rows), [_short(n) for n in names], fontsize=8)
        axes.invert_yaxis()
        axes.set(title="Per question", xlim=(0, 100))
        axes.legend(fontsize=7, loc="lower right")
        return _png(figure)


def slowest_plot(names: list[str], seconds: list[float]) -> str:
    with plt.rc_context(_style()):
        figure, axes = plt.subplots(figsize=(5.5, 3.2))
        axes.barh(range(len(names)), seconds, color="#c44e52")
        axes.set_yticks(range(len(names)), [_short(n, 36) for n in names])  # positions: two files may share a name
        axes.set(title="Slowest submissions", xlabel="seconds to grade")
        axes.tick_params(axis="y", labelsize=7)
        return _png(figure)
