"""Run a notebook's cells in a fresh worker process and collect per-cell results and probe values.

Workers are forked from a warm fork server (autograder.sandboxed.fork_server: torch and the worker
imported once), so each submission gets its own process without paying for Python and torch
start-up. The grader never runs student code itself and reads the worker's reports as untrusted JSON.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import signal
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import wording
from ..config import Limits
from ..errors import GraderError
from ..i18n import _, current
from ..probes import END, load_probes
from ..protocol import messages
from ..protocol.frames import ChannelError, FrameReader
from ..protocol.jobs import CRASHED, TIMEOUT, CellJob, WorkerJob, encode_job
from ..protocol.messages import CellResult, ProbeResult, WorkerSetup
from ..protocol.progress import CELL, Position, ProgressReader, job_file
from .fork_client import ForkClient
from .report_order import ForgedReport, ReportOrder
from .slots import WorkerSlot, remove_stale_slots

MAX_ATTEMPTS = 3
_GRACE = 2.0  # seconds past a cell's own limit before the worker is killed from outside
_LOOK_SECONDS = 0.25  # how often the grader looks at a silent worker's progress page
_START_SECONDS = 60.0
_MAX_SLOTS = 64
_REPORT_BYTES = 64 << 20  # reports of one run, besides its cells' printed output
_REPORTS = 20_000  # messages of one run, besides one per cell
_OUTPUT_CELLS = 4  # printed output kept for a whole notebook, in cells' worth (limits.output_kb each)
_slot_numbers = itertools.count()  # slot names are unique in the process, whatever the executor


@dataclass(frozen=True)
class Execution:
    """Everything one submission's run produced, as plain data."""

    cells: tuple[CellResult, ...]
    probes: dict[str, ProbeResult]
    problems: tuple[str, ...] = ()
    seconds: float = 0.0
    peak_memory: int | None = None  # bytes, the worker and everything it started (where cgroups are used)
    jobs: tuple[CellJob, ...] = ()  # the cells as last run, with those that hung or crashed a worker marked skipped


@dataclass
class _Attempt:
    cells: dict[int, CellResult] = field(default_factory=dict)
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    stopped_at: Position | None = None  # where the worker was when it died or was killed
    peak_memory: int | None = None
    finished: bool = False
    failure: str | None = None
    timed_out: bool = False
    fallbacks: bool = False
    forged: bool = False  # the notebook wrote frames of its own: none of this run's values count


class Executor:
    """Runs notebooks for one assignment; safe to use from several threads at once."""

    def __init__(self, probes_path: str | None, limits: Limits, seeds: tuple[int, ...] = (),
                 release: str | None = None, server: ForkClient | None = None, course_files: Mapping[str, Path] | None = None,
                 preload: tuple[str, ...] = (), inputs: dict | None = None):
        """`release`: the student notebook, if most runs will be of submissions of it (compiled once);
        `server`: a fork server for the same probes, release and files, started earlier (this executor closes it);
        `course_files`: the assignment's files, shown read-only in every worker's folder, and `preload`: modules
        the fork server imports once (both without `server`)."""
        self.probes_path = probes_path
        self.limits = limits
        self.seeds = seeds
        self.inputs = inputs or {}  # the grader's inputs for the probes, as plain data
        # Which probes a worker runs after which cell, to check its reports against (report_order.py).
        self.probes_by_cell = {cell: [name for name, _ in found]
                               for cell, found in load_probes(probes_path).by_cell.items()}
        self._server = server or ForkClient(probes_path, release, course_files, preload)
        self._free_slots: list[WorkerSlot] = []
        self._all_slots: list[WorkerSlot] = []
        self._slot_lock = threading.Lock()
        self.setup: WorkerSetup | None = None  # what the first worker reported before running anything
        self.fallbacks = 0  # workers whose torch speed-ups fell back to torch's own code while running

    def run(self, cells: list[CellJob], only_probes: tuple[str, ...] | None = None, quiet: bool = False) -> Execution:
        """Run the cells; a cell (or the probes after it) that kills or hangs the worker is skipped on a fresh retry.

        `only_probes`: run only these probes (None: all of them)."""
        started = time.monotonic()
        problems: list[str] = []
        jobs = list(cells)
        unchecked: dict[int, str] = {}
        attempt = _Attempt()
        for _attempt in range(MAX_ATTEMPTS):
            attempt = self._attempt(jobs, unchecked, started, only_probes, quiet)
            if attempt.fallbacks:
                with self._slot_lock:
                    self.fallbacks += 1
            where = attempt.stopped_at
            if attempt.finished or where is None:
                break
            status = TIMEOUT if attempt.timed_out else CRASHED
            if where.stage == CELL:
                problems.append(_("{cell}: {failure}; it was skipped and the notebook run again").format(
                    cell=jobs[where.index].named, failure=attempt.failure))
                jobs[where.index] = replace(jobs[where.index], skip=status, skip_reason=attempt.failure or "")
            else:
                after = jobs[where.index].named if where.index < len(jobs) else _("the last cell")
                problems.append(_("checking the values after {cell}: {failure}; those checks were skipped "
                                  "and the notebook run again").format(cell=after, failure=attempt.failure))
                unchecked[where.index] = (_("checking the values after {cell} took too long") if status == TIMEOUT
                                          else _("checking the values after {cell} ended the worker process")).format(cell=after)
        if not attempt.finished and attempt.failure:
            problems.append(_("the run did not finish: {failure}").format(failure=attempt.failure))
        _grader_words(attempt, jobs, unchecked, self.probes_by_cell)
        results = _within_output_budget(
            [replace(self._final_cell(i, job, attempt), label=job.named, source=job.source, origin=job.origin,
                     file=job.filename)
             for i, job in enumerate(jobs)], _OUTPUT_CELLS * self.limits.output_kb * 1024)
        return Execution(results, _worded(attempt.probes, results), tuple(problems), time.monotonic() - started,
                         attempt.peak_memory, tuple(jobs))

    @staticmethod
    def _final_cell(index: int, job: CellJob, attempt: _Attempt) -> CellResult:
        if job.skip and index in attempt.cells:  # why it was skipped is the grader's to say, not the worker's
            return CellResult(index, job.id, job.skip, notes=(job.skip_reason,) if job.skip_reason else ())
        if index in attempt.cells:
            return attempt.cells[index]
        return CellResult(index, job.id, CRASHED, notes=(_("not run: the notebook stopped before this cell"),))

    def _attempt(self, jobs: list[CellJob], unchecked: dict[int, str], started: float,
                 only_probes: tuple[str, ...] | None, quiet: bool = False) -> _Attempt:
        attempt = _Attempt()
        slot = self._take_slot()
        try:
            with contextlib.ExitStack() as stack:
                scratch = str(slot.scratch) if slot else \
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="autograder-scratch-"))
                paths = tuple(str(p) for p in slot.paths) if slot else ()
                job = WorkerJob(tuple(jobs), self.probes_path, self.limits, scratch, self.seeds, paths,
                                tuple(unchecked.items()), self._server.files, language=current(), inputs=self.inputs,
                                only_probes=only_probes, quiet=quiet)
                job_fd = job_file(encode_job(job))
                try:
                    progress = stack.enter_context(contextlib.closing(ProgressReader(job_fd, len(jobs))))
                    pid, report_fd = self._server.spawn(job_fd, slot.join_fds if slot else ())
                finally:
                    os.close(job_fd)
                try:
                    # What one notebook may send: its cells' capped output and probe values, with room to
                    # spare; a notebook writing into the pipe itself must not fill the grader's memory.
                    budget = _REPORT_BYTES + len(jobs) * self.limits.output_kb * 1024 * 2
                    order = ReportOrder(jobs, self.probes_by_cell, only_probes)
                    self._collect(FrameReader(report_fd, messages.MAX_FRAME, budget), progress, attempt, started, order)
                finally:
                    os.close(report_fd)
                    _kill(pid)
                    if slot is not None:
                        attempt.peak_memory = slot.peak_memory()
        finally:
            if slot is not None:
                with self._slot_lock:
                    self._free_slots.append(slot)
        return attempt

    def _take_slot(self) -> WorkerSlot | None:
        """A cgroup slot no earlier worker has a process in; None where cgroups cannot be made (not root).

        Killed workers take a few milliseconds to leave their slot, so rather than wait, another slot is
        made; the pool settles at a few more slots than workers running at once.
        """
        with self._slot_lock:
            for slot in self._free_slots:
                if not slot.processes():
                    self._free_slots.remove(slot)
                    slot.reset_peak()
                    slot.clear_scratch()
                    return slot
            if os.geteuid() != 0:
                return None
            if len(self._all_slots) >= _MAX_SLOTS and self._free_slots:
                slot = self._free_slots.pop(0)
                slot.empty()
                slot.reset_peak()
                slot.clear_scratch()
                return slot
            if not self._all_slots:
                remove_stale_slots()
            try:
                slot = WorkerSlot(f"g{os.getpid()}-{next(_slot_numbers)}", self.limits.memory_mb)
            except OSError:
                return None
            self._all_slots.append(slot)
            return slot

    def close(self) -> None:
        self._server.close()
        for slot in self._all_slots:
            slot.empty()
            slot.remove()

    def worker_setup(self) -> WorkerSetup:
        """Start one empty worker to learn which isolation layers (and speed-ups) are in effect here.

        No student code runs in it, so when it cannot even isolate itself the fault is the grader's
        (or the machine's): GraderError, never a zero for every student.
        """
        if self.setup is None:
            attempt = self._attempt([], {}, time.monotonic(), None)
            if self.setup is None:
                raise GraderError(f"workers cannot run here: {attempt.failure or 'the worker reported nothing'}; "
                                  "nothing was graded (see Security in the README for what the grader needs)")
        return self.setup

    def _collect(self, reader: FrameReader, progress: ProgressReader, attempt: _Attempt, started: float,
                 order: ReportOrder) -> None:
        """Read the worker's reports until it is done; kill it when a cell overruns (seen on the progress page)."""
        limits = self.limits
        notebook_deadline = started + limits.notebook_seconds + _GRACE
        spawned = time.monotonic()
        where, since = progress.position(), spawned
        allowed = _REPORTS + progress.cells
        while True:
            # A stage's clock starts when the grader first saw it (or earlier, if the page says so):
            # a start time the notebook rewrites on the page can only shorten its own limit.
            stage_deadline = spawned + _START_SECONDS if where is None else \
                min(where.started, since) + limits.cell_seconds + _GRACE
            deadline = min(notebook_deadline, stage_deadline)
            try:
                message = reader.read(min(_LOOK_SECONDS, max(0.0, deadline - time.monotonic())))
            except ChannelError as problem:
                attempt.stopped_at = self._unfinished(progress, attempt)
                attempt.failure = (_("the worker process ended abruptly (crash, exit or memory limit)")
                                   if str(problem) == "end of channel" else
                                   _("the notebook broke the grader's channel ({problem})").format(problem=problem))
                return
            if message is None:
                latest, now = progress.position(), time.monotonic()
                if _moved_on(where, latest) and now < notebook_deadline:
                    where, since = latest, now  # the worker moved on: a new deadline
                    continue
                if now < deadline:
                    continue
                attempt.stopped_at = self._unfinished(progress, attempt)
                attempt.timed_out = True
                attempt.failure = (_("the notebook ran past its time limit of {seconds} s").format(
                                       seconds=f"{limits.notebook_seconds:g}") if now >= notebook_deadline
                                   else _("still running after {seconds} s, the time limit of one cell").format(
                                       seconds=f"{limits.cell_seconds:g}"))
                return
            allowed -= 1
            if allowed < 0:
                attempt.stopped_at = self._unfinished(progress, attempt)
                attempt.failure = _("the notebook flooded the grader's channel with reports")
                return
            try:
                done = self._take(message, attempt, order, limits.output_kb * 1024)
            except (ValueError, KeyError, TypeError):
                attempt.failure = _("the notebook wrote garbage into the grader's channel")
                return
            except ForgedReport as forged:
                # Like a crash: the cell that wrote them (as far as the progress page says) is skipped on a
                # fresh run, and nothing this run reported is kept.
                attempt.forged = True
                attempt.stopped_at = progress.position()
                void = _("the notebook wrote into the grader's report channel itself, so none of its values were used")
                attempt.probes = {name: ProbeResult(False, error=void) for names in self.probes_by_cell.values()
                                  for name in names}
                attempt.failure = _("the notebook wrote reports of its own into the grader's channel ({detail})").format(
                    detail=forged)
                return
            if done:
                return
            if message.get("type") == messages.READY and self.setup is None:
                self.setup = messages.parse_ready(message)

    @staticmethod
    def _unfinished(progress: ProgressReader, attempt: _Attempt) -> Position | None:
        """Where the worker stopped, if that is a cell still without a result or the probes after a cell."""
        where = progress.position()
        if where is None or (where.stage == CELL and where.index in attempt.cells):
            return None
        return where

    def _note(self, kind: str, args: dict) -> str:
        return wording.worker_note(kind, args, self.limits.cell_seconds)

    def _take(self, message: dict, attempt: _Attempt, order: ReportOrder, max_output: int) -> bool:
        """Record one report, checked against what the job allows; True when the worker has nothing more to say."""
        kind = message["type"]
        if kind == messages.READY:
            order.ready()
        elif kind == messages.CELL:
            result = messages.parse_cell(message, self._note, max_output)
            order.cell(result)
            attempt.cells[result.index] = result
        elif kind == messages.PROBE:
            name, probe = messages.parse_probe(message)
            order.probe(name)
            attempt.probes[name] = probe if probe.ok else replace(probe, error=_probe_failure(probe, self.limits))
        elif kind == messages.OVERSIZE and message.get("what") == messages.PROBE:
            name = str(message.get("name"))
            order.probe(name)
            attempt.probes[name] = ProbeResult(False, error=_("value too large to grade"))
        elif kind == messages.OVERSIZE:
            raise ForgedReport(_("an oversized report that is not a probe value"))
        elif kind == messages.FATAL:
            attempt.failure = _("the worker failed: {error}").format(error=wording.code(str(message.get("error"))[:300]))
            return True
        elif kind == messages.DONE:
            order.done()
            attempt.finished = True
            attempt.fallbacks = message.get("fallbacks") not in (0, None)
            return True
        return False


def _within_output_budget(cells: list[CellResult], budget: int) -> tuple[CellResult, ...]:
    """Outputs kept for the graded notebook, in order, up to `budget` characters in all: each cell's
    is capped already, but a notebook of many printing cells must not make a huge result either."""
    kept = []
    for cell in cells:
        if cell.output and len(cell.output) > max(budget, 0):
            cell = replace(cell, output=cell.output[:max(budget, 0)] + "\n... " + _(
                "(output not kept: the notebook printed more than the grader keeps)"))
        budget -= len(cell.output)
        kept.append(cell)
    return tuple(kept)


def _moved_on(where: Position | None, latest: Position | None) -> bool:
    """Whether the page shows a later stage: cells and their probes only go forward, so a page
    showing the same stage again, an earlier one or nothing (a notebook writing to it) is no progress."""
    if latest is None:
        return False
    return where is None or (latest.index, latest.stage) > (where.index, where.stage)


def _probe_failure(probe: ProbeResult, limits: Limits) -> str:
    """Why a probe failed, as the grader words it: the worker's text is the student's exception."""
    if probe.timed_out:
        return _("took longer than {seconds} s").format(seconds=f"{limits.probe_seconds:g}")
    return wording.code(probe.error) or _("it failed without a message")


def _grader_words(attempt: _Attempt, jobs: list[CellJob], unchecked: dict[int, str],
                  probes_by_cell: dict[str, list[str]]) -> None:
    """Probes the grader told the worker not to run fail with the grader's reason, whatever was sent."""
    for index, reason in unchecked.items():
        cell = jobs[index].id if index < len(jobs) else END
        for name in probes_by_cell.get(cell, []):
            if name in attempt.probes:
                attempt.probes[name] = ProbeResult(False, error=reason)


def _worded(probes: dict[str, ProbeResult], cells: tuple[CellResult, ...]) -> dict[str, ProbeResult]:
    """Probes that failed after a cell that did not run cleanly say so, in terms of that cell."""
    worded = dict(probes)
    for name, probe in probes.items():
        if not probe.ok and probe.blocked_by is not None and 0 <= probe.blocked_by < len(cells):
            worded[name] = replace(probe, error=wording.blocked_by(cells[probe.blocked_by]))
    return worded


def _kill(pid: int) -> None:
    """Kill the worker and every process it started (its process group; its PID namespace dies with it)."""
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass
