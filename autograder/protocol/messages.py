"""The reports a worker sends, both sides of the format in one place: the worker builds them with
the functions here, the grader parses them back with `parse_*`, trusting no field."""
from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ..i18n import _
from .jobs import CRASHED, ERROR, NOT_ANSWERED, OK, TIMEOUT
from .notes import parse_note

MAX_FRAME = 8 << 20  # a worker sends no larger frame (it sends OVERSIZE instead); the grader refuses one
PID = struct.Struct("!i")  # the fork server's reply to a request: the new worker's pid

READY, CELL, PROBE, OVERSIZE, FATAL, DONE = "ready", "cell", "probe", "oversize", "fatal", "done"
STATUSES = (OK, ERROR, TIMEOUT, NOT_ANSWERED, CRASHED)
_NOTE_CHARS, _NOTES, _ERROR_CHARS, _TRACEBACK_CHARS = 500, 20, 500, 4000
MAX_FIGURES, MAX_FIGURE_BYTES = 4, 200 << 10  # per cell, per PNG (the worker keeps within these)
_PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class CellResult:
    """How one cell ran, as the grader keeps it."""

    index: int
    id: str
    status: str
    output: str = ""
    error: dict | None = None  # {"ename", "evalue", "traceback"}
    notes: tuple[str, ...] = ()
    label: str = ""
    source: str = ""  # the code that ran (or was meant to), for the graded notebook
    origin: str = ""  # "protected", "answer" or "extra", as in CellJob
    figures: tuple[str, ...] = ()  # PNGs the cell drew (base64), checked to be PNGs of bounded size
    file: str = ""  # its code's file name in tracebacks ("<code cell 5>"), from the grader's job


@dataclass(frozen=True)
class ProbeResult:
    """One probe's value (plain JSON, decoded by the tests) or why there is none."""

    ok: bool
    value: object = None
    error: str = ""
    # The index of the cell the probe runs after, when that cell did not run cleanly: the
    # grader words the failure in terms of that cell.
    blocked_by: int | None = None
    timed_out: bool = False  # the probe ran past Limits.probe_seconds (then `error` is empty)


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker reports before any student code runs: isolation layers in effect and missing,
    and the torch speed-ups of the fork server that fell back to torch's own code."""

    layers: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def ready(layers: list[str], missing: list[str], warnings: list[str]) -> dict:
    return {"type": READY, "isolation": layers, "missing": missing, "warnings": warnings}


def parse_ready(message: dict) -> WorkerSetup:
    def texts(key: str) -> tuple[str, ...]:
        return tuple(str(x)[:300] for x in message.get(key, [])[:20])

    return WorkerSetup(texts("isolation"), texts("missing"), texts("warnings"))


def cell(index: int, cell_id: str, status: str, output: str = "", error: dict | None = None,
         notes: list[dict] | None = None) -> dict:
    """A cell's report; `notes` made with `protocol.notes.note` (kinds, never sentences)."""
    return {"type": CELL, "index": index, "id": cell_id, "status": status, "output": output, "error": error,
            "notes": notes or []}


def probe_value(name: str, value: object) -> dict:
    return {"type": PROBE, "name": name, "ok": True, "value": value}


def probe_failure(name: str, error: str, blocked_by: int | None = None, timed_out: bool = False) -> dict:
    return {"type": PROBE, "name": name, "ok": False, "error": error, "blocked_by": blocked_by, "timed_out": timed_out}


def oversize(message: dict) -> dict:
    """Stands in for a message larger than MAX_FRAME."""
    return {"type": OVERSIZE, "what": message.get("type"), "name": message.get("name"), "index": message.get("index")}


def fatal(error: str) -> dict:
    return {"type": FATAL, "error": error}


def done(fallbacks: int = 0) -> dict:
    """The worker is done; `fallbacks`: tensors it printed with torch's own code after the quick
    measurement failed (a sign of a torch this package does not know yet)."""
    return {"type": DONE, "fallbacks": fallbacks}


def parse_cell(message: dict, words: Callable[[str, dict], str], max_output: int | None = None) -> CellResult:
    """A cell's report, each field cut to what an honest worker sends: `max_output` characters of
    output (the cell's limit; a worker's own cap may have been patched away), known statuses only,
    and notes of known kinds, worded by the grader (`words(kind, args)`)."""
    error = message.get("error")
    if error is not None:
        error = {key: str(error.get(key, ""))[:_TRACEBACK_CHARS] for key in ("ename", "evalue", "traceback")}
    status = str(message["status"])
    if status not in STATUSES:
        raise ValueError(f"unknown cell status {status[:40]!r}")
    output = str(message.get("output", ""))
    if max_output is not None and len(output) > max_output:
        output = output[:max_output] + "\n... " + _("({count} more characters not kept)").format(count=len(output) - max_output)
    return CellResult(
        index=int(message["index"]), id=str(message["id"])[:_NOTE_CHARS], status=status,
        output=output, error=error,
        notes=_notes(message.get("notes"), words),
        figures=_figures(message.get("figures")),
    )


def _notes(value: object, words: Callable[[str, dict], str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(words(*parsed) for parsed in map(parse_note, value[:_NOTES]) if parsed is not None)


def _figures(value: object) -> tuple[str, ...]:
    """The PNGs a cell claims to have drawn: only real PNGs of bounded size and number, re-encoded."""
    if not isinstance(value, list):
        return ()
    kept = []
    for item in value[:MAX_FIGURES]:
        if not isinstance(item, str) or len(item) > MAX_FIGURE_BYTES * 4 // 3 + 4:
            continue
        try:
            data = base64.b64decode(item, validate=True)
        except ValueError:
            continue
        if data.startswith(_PNG) and len(data) <= MAX_FIGURE_BYTES:
            kept.append(base64.b64encode(data).decode("ascii"))
    return tuple(kept)


def parse_probe(message: dict) -> tuple[str, ProbeResult]:
    blocked = message.get("blocked_by")
    return str(message["name"]), ProbeResult(bool(message["ok"]), message.get("value"),
                                             str(message.get("error", ""))[:_ERROR_CHARS],
                                             int(blocked) if blocked is not None else None,
                                             message.get("timed_out") is True)
