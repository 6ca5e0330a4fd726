"""One HTML page for the course staff about a graded folder, and an HTML feedback page per submission.

Made from what `autograder grade` wrote (grades.csv, questions.json, and per submission
results.json, record.json and graded.ipynb), so it can be made again at any time, also after
`merge` or a TA's review. Its cost is bounded by input size: notebooks are rendered up to a
number of cells, files over a size are not read, similarity reads a bounded number of tokens.
"""
from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter

from ..errors import AutograderError
from ..files import write_atomically
from ..protocol.jobs import NOT_ANSWERED
from .hand_feedback import HAND_SUFFIX
from .hand_grades import QUESTIONS, row_stems, submission_stems
from .report_plots import question_plot, score_plot, slowest_plot
from .report_stats import common_failures, question_stats, test_stats
from .similarity import similar_pairs

# Student-controlled text (names, messages) reaches this page: the environment escapes everything.
_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("autograder.outputs", "templates"), autoescape=True)
MAX_JSON_BYTES = 20 << 20   # a result file larger than this is not read
MAX_RENDERED_CELLS = 400    # a feedback page shows at most this many cells
# A feedback page is the student's notebook and messages: it loads nothing and runs nothing, not even
# the template's MathJax, require.js and mermaid from a CDN (which would act on student text), and an
# image a student's message names by URL is not fetched. Its own styles and PNG figures still show.
_NO_SCRIPTS = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
               'style-src \'unsafe-inline\'">')


def write_report(folder: Path, threshold: float = 0.6) -> Path:
    """Write folder/report.html and folder/<stem>/feedback.html for every graded submission."""
    book = folder / "grades.csv"
    if not book.is_file():
        raise AutograderError(book, "missing; run `autograder grade ... --out` into this folder first")
    with book.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = submission_stems(folder)
    for row, stem in zip(rows, row_stems([r["submission"] for r in rows], records)):
        record = records.get(stem or "", {})
        row.update(stem=stem or "", seconds=float(record.get("seconds") or 0.0),
                   submission=str(record.get("submission", row["submission"])),  # as named, not as a spreadsheet reads it
                   unreadable=bool(record.get("error")) or stem is None, error=str(record.get("error") or ""))
    graded = [r for r in rows if not r["unreadable"]]
    described = _json(folder / QUESTIONS)
    meta = _questions(described, rows, records)
    tests = _tests(folder, graded)
    max_score = float(rows[0]["max_score"]) if rows else 0.0
    scores = sorted(float(r["score"]) for r in graded)
    stats = question_stats(graded, [(q["id"], q["name"], q["points"]) for q in meta])
    gradable = {r["stem"]: records[r["stem"]] for r in graded}
    slowest = sorted(graded, key=lambda r: r["seconds"], reverse=True)[:10][::-1]
    answers: dict[str, dict[str, str]] = {}
    pages: dict[Path, bytes] = {}
    exporter = HTMLExporter(template_name="lab", sanitize_html=True)
    for stem in gradable:  # each graded notebook read once: its answers, then its feedback page
        data = _json(folder / stem / "graded.ipynb")
        answers[stem] = _answers(data)
        notebook = _bounded_notebook(data)
        if notebook is not None:
            body, _ = exporter.from_notebook_node(notebook)
            pages[folder / stem / "feedback.html"] = body.replace("<head>", "<head>" + _NO_SCRIPTS, 1).encode("utf-8")
    page = _TEMPLATES.get_template("report.html").render(
        title=f"Grading report: {folder.name}", count=len(rows), graded=len(graded), rows=rows, questions=meta,
        mean=sum(scores) / len(scores) if scores else 0.0, median=f"{statistics.median(scores):g}" if scores else "-",
        max_score=f"{max_score:g}", unreadable=len(rows) - len(graded), stats=stats,
        tests=test_stats(tests, {stem: [str(label) for label, _ in r.get("failures", [])] for stem, r in gradable.items()}),
        plots={"scores": score_plot(scores, max_score),
               "questions": question_plot([s.name for s in stats], [s.mean / s.points if s.points else 0.0 for s in stats],
                                          [s.full for s in stats]),
               "slowest": slowest_plot([r["submission"] for r in slowest], [float(r["seconds"]) for r in slowest])},
        failures=common_failures(gradable), threshold=f"{threshold:.0%}",
        pairs=similar_pairs(answers, _handout(described), threshold),
        names={stem: str(record.get("submission", stem)) for stem, record in records.items()},
    )
    pages[folder / "report.html"] = page.encode("utf-8")
    write_atomically(pages, durable=False)
    return folder / "report.html"


def _questions(data, rows: list[dict], records: dict[str, dict]) -> list[dict]:
    """id, name and points of each question: from questions.json (`data`), else the gradebook's columns."""
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        return [{"id": str(q["id"]), "name": str(q.get("name", q["id"])), "points": float(q.get("points", 0))}
                for q in data["questions"] if isinstance(q, dict) and "id" in q]
    maximum: dict = next((r["max_scores"] for r in records.values() if isinstance(r.get("max_scores"), dict)), {})
    columns = [c for c in (rows[0].keys() if rows else []) if c not in ("submission", "score", "max_score", "stem",
                                                                          "seconds", "unreadable", "error")]
    return [{"id": c, "name": c, "points": float(maximum.get(c, 0.0))} for c in columns]


def _tests(folder: Path, graded: list[dict]) -> list[tuple[str, str]]:
    """(question id, test label) of every automatic test, from one graded file's results.json."""
    for row in graded[:20]:
        data = _json(folder / row["stem"] / "results.json")
        if isinstance(data, dict) and data.get("tests"):
            return [(str(t.get("number", "")), str(t.get("name", ""))) for t in data["tests"]
                    if not str(t.get("name", "")).endswith(HAND_SUFFIX)]
    return []


def _handout(data) -> list[str]:
    """The code cells handed out, from questions.json (`data`)."""
    handout = data.get("handout", []) if isinstance(data, dict) else []
    return [str(source) for source in handout] if isinstance(handout, list) else []


def _answers(data) -> dict[str, str]:
    """The student's own code in a graded notebook (`data`), answer by answer (answers and added cells that ran)."""
    cells = data.get("cells", []) if isinstance(data, dict) else []
    answers = {}
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        meta = cell.get("metadata", {}).get("autograder", {}) if isinstance(cell, dict) else {}
        if not isinstance(meta, dict) or meta.get("origin") not in ("answer", "extra") or meta.get("status") == NOT_ANSWERED:
            continue
        source = cell.get("source", "")
        answers[str(meta.get("cell") or index)] = source if isinstance(source, str) else "".join(map(str, source))
    return answers


def _bounded_notebook(data):
    """The graded notebook (`data`) to render, cut to MAX_RENDERED_CELLS cells; None when missing or too large."""
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None
    cells = data["cells"]
    if len(cells) > MAX_RENDERED_CELLS:
        note = {"cell_type": "markdown", "metadata": {}, "id": "cut",
                "source": f"*{len(cells) - MAX_RENDERED_CELLS} more cells are not shown here; "
                          f"open graded.ipynb for all {len(cells)}.*"}
        data["cells"] = cells[:MAX_RENDERED_CELLS] + [note]
    try:
        return nbformat.from_dict(data)
    except Exception:  # a notebook we wrote ourselves; anything odd only costs its page
        return None


def _json(path: Path):
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

