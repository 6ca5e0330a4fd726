"""The cells a TA reads for each hand-graded question: text and code as the student saved them, a code
cell's output and figures as the grader's own run made them (as saved, for a cell that did not run),
bounded in size, and a hash per question that tells a changed answer.

Only inert content is kept: text and PNG/JPEG images whose bytes are checked to be base64. HTML,
SVG and JavaScript outputs are dropped, so nothing a student saved can run in the TA's browser.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json

from ..config import AssignmentConfig
from ..notebooks import cell_text

ANSWERS = "answers.json"
_SOURCE_CHARS = 50_000
_TEXT_CHARS = 20_000
_IMAGES = 4
_IMAGE_BYTES = 2 << 20
_IMAGE_TYPES = ("image/png", "image/jpeg")


def hand_answers(raw: bytes, config: AssignmentConfig, released: tuple[tuple[str, str], ...],
                 ran: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> dict[str, dict]:
    """question id -> {"cells": [...], "hash": ...} for every hand-graded question.

    `released`: (id, source) of every cell of the student notebook as handed out, to find a cell
    in a notebook saved without ids (by position) and to tell an answer left as it was released.
    `ran`: cell id -> (printed text, PNG figures) of the grader's own run; a code cell that ran is
    shown with those outputs, not with what the student's file says it printed.
    """
    try:
        cells = json.loads(raw.decode("utf-8")).get("cells", [])
    except (ValueError, AttributeError):
        cells = []
    cells = [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []
    by_id = {c["id"]: c for c in cells if isinstance(c.get("id"), str)}
    positions = {cell_id: index for index, (cell_id, _) in enumerate(released)}
    sources = dict(released)
    same_shape = len(cells) == len(released)
    answers = {}
    for question in config.questions:
        if not question.manual:
            continue
        shown = []
        for cell_id in question.cells:
            cell = by_id.get(cell_id)
            if cell is None and not by_id and same_shape and cell_id in positions:
                cell = cells[positions[cell_id]]  # saved without ids: the same place in the same notebook
            shown.append(_cell(cell_id, cell, sources.get(cell_id), (ran or {}).get(cell_id)))
        answers[question.id] = {"cells": shown, "hash": answer_hash(shown)}
    return answers


def answer_hash(cells: list[dict]) -> str:
    """Changes when the text, code or figures of an answer change."""
    return hashlib.sha256(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:20]


def _cell(cell_id: str, cell: dict | None, released: str | None, ran: tuple[str, tuple[str, ...]] | None) -> dict:
    if cell is None:
        return {"id": cell_id, "type": "missing", "source": "", "outputs": [], "answered": False, "graded_run": False}
    kind = cell.get("cell_type") if cell.get("cell_type") in ("markdown", "code", "raw") else "raw"
    source = cell.get("source", "")
    ok = isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)
    source = cell_text(source) if ok else ""
    graded_run = kind == "code" and ran is not None
    if graded_run and ran is not None:
        text, figures = ran
        outputs = ([{"type": "text", "text": text[:_TEXT_CHARS]}] if text else []) + \
            [{"type": "image", "mime": "image/png", "data": png} for png in figures[:_IMAGES]]
    else:
        outputs = _outputs(cell.get("outputs")) if kind == "code" else []
    # A code cell handed out whole (one that draws the plot) is answered by running it.
    answered = released is None or source.strip() != released.strip() or graded_run
    if len(source) > _SOURCE_CHARS:
        source = source[:_SOURCE_CHARS] + f"\n… ({len(source) - _SOURCE_CHARS} more characters not shown)"
    return {"id": cell_id, "type": kind, "source": source, "outputs": outputs, "answered": answered,
            "graded_run": graded_run}


def _outputs(outputs: object) -> list[dict]:
    kept: list[dict] = []
    text_left, images = _TEXT_CHARS, 0
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        found = output.get("data")
        data: dict = found if isinstance(found, dict) else {}
        image = next((mime for mime in _IMAGE_TYPES if isinstance(data.get(mime), (str, list))), None)
        if image and images < _IMAGES:
            encoded = _base64(data[image])
            if encoded is not None:
                kept.append({"type": "image", "mime": image, "data": encoded})
                images += 1
                continue
        text = output.get("text") if output.get("output_type") == "stream" else data.get("text/plain")
        if output.get("output_type") == "error":
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        if isinstance(text, list):
            text = "".join(t for t in text if isinstance(t, str))
        if isinstance(text, str) and text and text_left > 0:
            kept.append({"type": "text", "text": text[:text_left]})
            text_left -= len(text)
    return kept


def _base64(value: str | list) -> str | None:
    """The image's base64 text when it really is base64 of a bounded size, else None."""
    text = "".join(value) if isinstance(value, list) else value
    text = "".join(text.split())
    if len(text) > _IMAGE_BYTES * 4 // 3 + 4:
        return None
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return text
