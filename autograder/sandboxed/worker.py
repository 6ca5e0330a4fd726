"""Runs inside the worker process: executes the cells, then the probes, and reports as JSON frames.

Nothing here trusts the student's code, and nothing the grader needs to keep secret is here:
the only ways out are the report pipe to the grader, carrying plain data (see plaindata.py), and
the page where the worker marks which cell it is running (progress.py).
"""
from __future__ import annotations

import builtins
import io
import json
import linecache
import os
import signal
import sys
import traceback
import types
import warnings

import torch

from ..i18n import _, language
from ..notebooks import PLACEHOLDER
from ..probes import END, Probes, load_probes
from ..protocol import messages, plaindata
from ..protocol import notes as note_kinds
from ..protocol.frames import frame, write_all
from ..protocol.jobs import ERROR, NOT_ANSWERED, OK, TIMEOUT, CellJob, WorkerJob
from ..protocol.progress import CELL, PROBES, ProgressWriter
from . import figures, tensor_format
from .ipython_shim import Shell, display, to_python
from .isolation import Inherited, enter_sandbox

# The worker is forked from a process that imported torch; one thread avoids the OpenMP pool
# deadlocking in forked children, and grading many small notebooks in parallel wants no more.
torch.set_num_threads(1)

_FLUSH_BYTES = 256 << 10  # buffered reports sent early past this size; the pipe holds 1 MB (execute.py)


class CellTimeout(BaseException):
    """Raised inside student code when its time is up; BaseException so `except Exception` misses it."""


class CappedOutput(io.TextIOBase):
    """Collects printed text up to a limit, counting what it drops."""

    def __init__(self, limit: int):
        self.limit, self.size, self.dropped = limit, 0, 0
        self.parts: list[str] = []

    def write(self, text) -> int:
        if type(text) is not str:
            text = str(text)  # a str subclass too: its own __len__ or __getitem__ must not fool the count
        if self.size + len(text) <= self.limit:  # print() writes about 1,200 times in a lab run: keep this short
            self.parts.append(text)
            self.size += len(text)
            return len(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def writable(self) -> bool:
        return True

    def text(self) -> str:
        body = "".join(self.parts)
        return body + ("\n... " + _("({count} more characters not kept)").format(count=self.dropped) if self.dropped else "")


def main(job: WorkerJob, report_fd: int, progress: ProgressWriter, inherited: Inherited = Inherited()) -> None:
    """Entry point of the worker process; never returns."""
    conn = Reports(report_fd)
    try:
        probes = _preloaded.get(job.probes_path) or load_probes(job.probes_path)  # before the sandbox hides them
        probes.seeds = job.seeds
        probes.inputs = plaindata.Inputs(job.inputs)
        isolation = enter_sandbox(job, inherited)
        # As in a kernel started in the notebook's folder, modules there import; the course's own
        # (read-only) come first, so a module the notebook writes cannot stand in for one of them.
        sys.path[:0] = [*([job.files] if job.files else []), os.getcwd()]
        conn.send(messages.ready(isolation.layers, isolation.missing, list(inherited.warnings)))
        with language(job.language):
            run_cells(job, probes, conn, progress)
        conn.send(messages.done(tensor_format.fallbacks))
        conn.flush()
    except BaseException as exc:  # the student may break anything; report what we can
        try:
            conn.send(messages.fatal(f"{type(exc).__name__}: {exc}"))
            conn.flush()
        except BaseException:
            pass
    finally:
        os._exit(0)


class Reports:
    """The report pipe, written once at the end (or when much has piled up), not once per message.

    Where the worker is meanwhile, the grader reads from the progress page (progress.py).
    """

    def __init__(self, fd: int):
        self.fd, self.size = fd, 0
        self.frames: list[bytes] = []
        self._pipe = _identity(fd)

    def verify(self) -> None:
        """End the worker now if the notebook closed or replaced the pipe: the progress page then
        still names the cell (or the probes) that did it, so the grader skips exactly that."""
        try:
            same = _identity(self.fd) == self._pipe
        except OSError:
            same = False
        if not same:
            os._exit(1)

    def send(self, message: dict) -> None:
        data = json.dumps(message, allow_nan=False, separators=(",", ":")).encode("utf-8")
        if len(data) > messages.MAX_FRAME:
            data = json.dumps(messages.oversize(message)).encode("utf-8")
        self.frames.append(frame(data))
        self.size += len(data)
        if self.size > _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        data, self.frames, self.size = b"".join(self.frames), [], 0
        write_all(self.fd, data)


def run_cells(job: WorkerJob, probes: Probes, conn: Reports, progress: ProgressWriter) -> None:
    """Run the job's cells in one namespace, each followed by the probes that read it, reporting to `conn`."""
    shell = Shell()
    ns = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": lambda: shell, "display": display}
    if job.quiet:
        ns["print"] = ns["display"] = _discard
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGPROF, _on_alarm)  # a probe's limit is CPU time (Limits.probe_seconds)
    # plt.show() under the Agg backend only warns; the figures are kept after the cell instead.
    warnings.filterwarnings("ignore", message=".*non-interactive, and thus cannot be shown")
    unchecked = dict(job.unchecked)
    seconds = job.limits.probe_seconds
    only = None if job.only_probes is None else set(job.only_probes)

    def after(cell_id: str) -> list:
        found = probes.by_cell.get(cell_id, [])
        return found if only is None else [(name, probe) for name, probe in found if name in only]

    for index, cell in enumerate(job.cells):
        progress.mark(index, CELL)
        result = _run_cell(index, cell, ns, shell, job)
        drawing = "matplotlib.pyplot" in sys.modules  # figures are only looked for once pyplot is in use
        if drawing and not cell.skip:
            _keep_figures(result, seconds)
        conn.verify()
        conn.send(result)
        blocked_by = index if result["status"] != OK else None
        _run_probes_after(index, after(cell.id), ns, conn, progress, unchecked, seconds, blocked_by)
        if drawing:
            _guarded(figures.close_all, seconds)
    _run_probes_after(len(job.cells), after(END), ns, conn, progress, unchecked, seconds)


def _run_probes_after(index: int, after: list, ns: dict, conn: Reports, progress: ProgressWriter,
                      unchecked: dict[int, str], seconds: float, blocked_by: int | None = None) -> None:
    """Run the probes that follow cell `index` (the number of cells: the end), unless they killed an earlier run."""
    if not after:
        return
    if index in unchecked:
        for name, _probe in after:
            conn.send(messages.probe_failure(name, ""))  # the grader words why: it decided so
        return
    progress.mark(index, PROBES)
    for name, probe in after:
        conn.send(_run_probe(name, probe, ns, seconds, blocked_by))
    conn.verify()


def _identity(fd: int) -> tuple[int, int]:
    status = os.fstat(fd)
    return status.st_dev, status.st_ino


_preloaded: dict[str | None, Probes] = {}
_compiled: dict[tuple[str, str], types.CodeType] = {}  # (file name, source) -> code, made in the fork server


def precompile(cells: list[CellJob]) -> None:
    """Compile the released notebook's cells once in the fork server: every submission runs most of them."""
    for cell in cells:
        filename = cell.filename
        try:
            _compiled[filename, cell.source] = _compile(cell.source, filename)
        except SyntaxError:
            pass  # an answer cell with its placeholder


def _compile(source: str, filename: str) -> types.CodeType:
    # dont_inherit: the cell gets Python's defaults, as in a kernel, not this module's __future__ imports.
    return compile(to_python(source), filename, "exec", dont_inherit=True)


def preload_probes(path: str | None) -> None:
    """Load an assignment's probes in the fork server, so that no worker executes that file again."""
    if path is not None:
        _preloaded[path] = load_probes(path)


def _run_cell(index: int, cell: CellJob, ns: dict, shell: Shell, job: WorkerJob) -> dict:
    result = messages.cell(index, cell.id, OK)
    if cell.skip:
        result.update(status=cell.skip)  # the grader words why: it decided so
        return result
    filename = cell.filename
    try:
        code = _compiled.get((filename, cell.source)) or _compile(cell.source, filename)
    except SyntaxError as exc:
        if PLACEHOLDER in cell.source:
            result.update(status=NOT_ANSWERED, notes=[note_kinds.note(note_kinds.PLACEHOLDER_LEFT)])
        else:
            result.update(status=ERROR, error=_error(exc, cell.source))
        return result
    linecache.cache[filename] = (len(cell.source), None, _source_lines(cell.source), filename)
    output = CappedOutput(job.limits.output_kb * 1024)
    shell.notes = []
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = output
    signal.setitimer(signal.ITIMER_REAL, job.limits.cell_seconds)
    try:
        exec(code, ns)
    except CellTimeout:
        result.update(status=TIMEOUT)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt: recorded like any error
        result.update(status=ERROR, error=_error(exc, cell.source))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = saved
    if result["status"] == TIMEOUT:
        result["notes"].append(note_kinds.note(note_kinds.STOPPED))
    if PLACEHOLDER in cell.source and result["status"] == OK:
        result["notes"].append(note_kinds.note(note_kinds.PLACEHOLDER_LEFT))
    result["output"] = output.text()
    result["notes"] += shell.notes
    return result


def _source_lines(source: str) -> list[str]:
    """A cell's lines for tracebacks, each ending in a newline as linecache keeps a file's: Python
    places a traceback's carets one column too far right on a line without one (a cell's last line)."""
    return [line if line.endswith("\n") else line + "\n" for line in source.splitlines(True)]


def _run_probe(name: str, probe, ns: dict, seconds: float, blocked_by: int | None = None) -> dict:
    """One probe, stopped after `seconds` of CPU time (a probe waiting on nothing is left to the
    grader's wall-time limit of the cell it follows)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = CappedOutput(0)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        state = torch.get_rng_state()  # a probe must not change what the student's next cell draws
        try:
            value = probe(ns)
        finally:
            torch.set_rng_state(state)
        return messages.probe_value(name, plaindata.encode(value))
    except CellTimeout:
        return messages.probe_failure(name, "", blocked_by, timed_out=True)
    except BaseException as exc:
        return messages.probe_failure(name, _one_line(exc), blocked_by)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        sys.stdout, sys.stderr = saved


def _keep_figures(result: dict, seconds: float) -> None:
    """The figures the cell drew, kept with its result; probes after the cell still see them open."""
    kept = _guarded(figures.capture, seconds)
    if kept is None:
        result["notes"].append(note_kinds.note(note_kinds.FIGURES_FAILED))
        return
    result["figures"], notes = kept
    result["notes"] += notes


def _guarded(step, seconds: float):
    """`step()` under the probes' (CPU) time limit, with output swallowed; None when it fails."""
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = CappedOutput(0)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return step()
    except BaseException:
        return None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        sys.stdout, sys.stderr = saved


def _discard(*objects, **options) -> None:
    """`print` and `display` in a run whose output nobody reads."""


def _on_alarm(signum, frame):
    raise CellTimeout()


def _error(exc: BaseException, source: str) -> dict:
    frames = [line for line in traceback.format_exception(exc) if __file__ not in line]
    return {"ename": type(exc).__name__, "evalue": _one_line(exc, with_type=False), "traceback": "".join(frames)[-4000:]}


def _one_line(exc: BaseException, with_type: bool = True) -> str:
    try:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    except BaseException:
        text = "(unprintable error)"
    text = text[:300]
    return f"{type(exc).__name__}: {text}" if with_type else text
