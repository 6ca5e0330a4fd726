"""One HTML page for the course staff about a graded folder, and an HTML feedback page per submission.

Made from what `autograder grade` wrote (grades.csv, and per submission results.json, record.json
and graded.ipynb), so it can be made again at any time, also after `merge`.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402

from ..errors import AutograderError  # noqa: E402
from ..files import write_atomically  # noqa: E402
from ..protocol.jobs import NOT_ANSWERED  # noqa: E402
from .results import PENDING, spreadsheet_text  # noqa: E402
from .similarity import fingerprint, similar_pairs  # noqa: E402

# Student-controlled text (names, messages) reaches this page: the environment escapes everything.
_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("autograder.outputs", "templates"), autoescape=True)


def write_report(folder: Path, threshold: float = 0.9) -> Path:
    """Write folder/report.html and folder/<stem>/feedback.html for every graded submission."""
    book = folder / "grades.csv"
    if not book.is_file():
        raise AutograderError(book, "missing; run `autograder grade ... --out` into this folder first")
    with book.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # grades.csv holds names as a spreadsheet reads them (spreadsheet_text); record.json as they are.
    stems = {spreadsheet_text(json.loads(p.read_text())["submission"]): p.parent.name
             for p in sorted(folder.glob("*/record.json"))}
    records = {stem: json.loads((folder / stem / "record.json").read_text()) for stem in stems.values()}
    questions = [name for name in (rows[0].keys() if rows else []) if name not in ("submission", "score", "max_score")]
    for row in rows:
        row["stem"] = stems.get(row["submission"], "")
        row["seconds"] = records.get(row["stem"], {}).get("seconds", 0.0)
    scores = sorted(float(row["score"]) for row in rows)
    max_score = float(rows[0]["max_score"]) if rows else 0.0
    page = _TEMPLATES.get_template("report.html").render(
        title=f"Grading report: {folder.name}", count=len(rows), rows=rows, questions=questions,
        mean=sum(scores) / len(scores) if scores else 0.0, median=f"{scores[len(scores) // 2]:g}" if scores else "-",
        max_score=f"{max_score:g}", unreadable=sum(1 for r in records.values() if r.get("error")),
        plots={"scores": _score_plot(scores, max_score), "questions": _question_plot(rows, questions, records),
               "slowest": _slowest_plot(rows)},
        failures=_failures(records), threshold=f"{threshold:.0%}",
        pairs=similar_pairs({stem: _answers(folder / stem / "graded.ipynb") for stem in records}, threshold),
        names={stem: records[stem]["submission"] for stem in records},
    )
    pages = {folder / "report.html": page.encode("utf-8")}
    exporter = HTMLExporter(template_name="lab")
    for stem in records:
        graded = folder / stem / "graded.ipynb"
        if graded.is_file():
            body, _ = exporter.from_notebook_node(nbformat.read(graded, as_version=4))
            pages[folder / stem / "feedback.html"] = body.encode("utf-8")
    write_atomically(pages, durable=False)
    return folder / "report.html"


def _answers(graded: Path) -> str:
    """The student's own code (answers and added cells that ran), normalised for comparison."""
    if not graded.is_file():
        return ""
    cells = json.loads(graded.read_text(encoding="utf-8"))["cells"]
    mine = [c for c in cells if c.get("metadata", {}).get("autograder", {}).get("origin") in ("answer", "extra")
            and c["metadata"]["autograder"].get("status") != NOT_ANSWERED]
    return fingerprint(["".join(c["source"]) for c in mine])


def _failures(records: dict[str, dict]) -> list:
    """The most frequent (test, reason) pairs; numbers are blurred so that alike failures group."""
    counts: Counter = Counter()
    for record in records.values():
        for test, message in record.get("failures", []):
            counts[(test, re.sub(r"-?\d+\.\d+", "#", message)[:160])] += 1
    return counts.most_common(12)


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _score_plot(scores: list[float], max_score: float) -> str:
    figure, axes = plt.subplots(figsize=(5.5, 3.2))
    axes.hist(scores, bins=min(20, max(5, len(set(scores)))), range=(0, max_score or 1), color="#4c72b0", edgecolor="white")
    axes.set(title="Score distribution", xlabel=f"score (of {max_score:g})", ylabel="submissions")
    return _png(figure)


def _question_plot(rows: list[dict], questions: list[str], records: dict[str, dict]) -> str:
    maximum: dict[str, float] = next((r["max_scores"] for r in records.values() if r.get("max_scores")), {})
    rates = [sum(r[q] != PENDING and float(r[q]) >= maximum.get(q, 0) - 1e-3 for r in rows) / len(rows)
             if rows and maximum.get(q) else 0.0
             for q in questions]
    figure, axes = plt.subplots(figsize=(5.5, 3.2))
    axes.bar(questions, [rate * 100 for rate in rates], color="#55a868")
    axes.set(title="Full marks per question", ylabel="% of submissions", ylim=(0, 100))
    axes.tick_params(axis="x", labelrotation=45)
    return _png(figure)


def _slowest_plot(rows: list[dict]) -> str:
    slowest = sorted(rows, key=lambda r: r["seconds"], reverse=True)[:10][::-1]
    figure, axes = plt.subplots(figsize=(5.5, 3.2))
    axes.barh([r["submission"] for r in slowest], [r["seconds"] for r in slowest], color="#c44e52")
    axes.set(title="Slowest submissions", xlabel="seconds to grade")
    axes.tick_params(axis="y", labelsize=7)
    return _png(figure)
