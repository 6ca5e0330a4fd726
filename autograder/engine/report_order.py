"""What a worker may report, and in which order: anything else is a frame the notebook wrote itself.

A worker sends one result per cell, in order, each followed by the probes that run after that
cell, then the probes that run at the end, then `done`. The notebook runs in the same process and
can write into the same pipe, so every frame is a claim; this check catches frames that do not fit
the job the grader sent (an early `done`, a cell that was not to run reported as run, a probe
reported twice, out of place or unknown). Such a run's probe values are all dropped: writing
into the channel can only lose points.
"""
from __future__ import annotations

from ..i18n import _
from ..probes import END
from ..protocol.jobs import CellJob
from ..protocol.messages import CellResult
from ..wording import code


class ForgedReport(Exception):
    """A frame that the worker's own code would not have sent at that point."""


class ReportOrder:
    """Follows one run's reports against its job; `ForgedReport` names the first frame that does not fit."""

    def __init__(self, jobs: list[CellJob], probes_by_cell: dict[str, list[str]], only: tuple[str, ...] | None):
        self._jobs = jobs
        self._by_cell = probes_by_cell
        self._only = None if only is None else set(only)
        self._next = 0
        self._open: set[str] = self._after(END) if not jobs else set()
        self._seen_any = False

    def _after(self, cell_id: str) -> set[str]:
        names = set(self._by_cell.get(cell_id, []))
        return names if self._only is None else names & self._only

    def ready(self) -> None:
        if self._seen_any:
            raise ForgedReport(_("a second 'ready' report"))
        self._seen_any = True

    def cell(self, result: CellResult) -> None:
        self._seen_any = True
        if result.index != self._next or self._next >= len(self._jobs):
            raise ForgedReport(_("a result for cell {index} where cell {due} was due").format(index=result.index, due=self._next))
        job = self._jobs[self._next]
        if result.id != job.id:
            raise ForgedReport(_("a result for cell {id} where {due} was due").format(id=code(result.id), due=code(job.id)))
        if job.skip and result.status != job.skip:
            raise ForgedReport(_("a result {status} for a cell that was not to run").format(status=code(result.status)))
        if self._open:
            raise ForgedReport(_("a cell result before the checks of the previous cell had reported"))
        self._next += 1
        self._open = self._after(job.id) | (self._after(END) if self._next == len(self._jobs) else set())

    def probe(self, name: str) -> None:
        self._seen_any = True
        if name not in self._open:
            raise ForgedReport(_("a value for {name} that was not due at that point").format(name=code(name)))
        self._open.discard(name)

    def done(self) -> None:
        if self._next != len(self._jobs) or self._open:
            raise ForgedReport(_("'done' before every cell and check had reported"))
