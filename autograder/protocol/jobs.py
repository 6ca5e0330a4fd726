"""What the grader asks of a worker, and the statuses a cell can end in."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..config import Limits
from ..notebooks import cell_text

OK = "ok"
ERROR = "error"
TIMEOUT = "timeout"
NOT_ANSWERED = "not answered"
CRASHED = "crashed"
# Processes a worker may have at once (its cgroup where there is one; an rlimit besides).
PROCESS_LIMIT = 64


@dataclass(frozen=True)
class CellJob:
    """One cell to run: its id in the released notebook, its code, and where the code came from."""

    id: str
    source: str
    origin: str  # "protected" (restored from the release), "answer", or "extra" (added by the student)
    skip: str | None = None  # a status when the cell must not run: not answered, or it hung/crashed a worker
    skip_reason: str = ""   # said in the feedback next to that status
    label: str = ""  # where it is: "code cell 5" counts code cells in their own notebook (its file name in tracebacks)
    title: str = ""  # how the student finds it: the question heading above it and its first line

    @property
    def shown(self) -> str:
        return self.label or f"cell {self.id}"

    @property
    def filename(self) -> str:
        """The cell's code's file name in tracebacks (and the key of the worker's compile cache)."""
        return f"<{self.shown}>"

    @property
    def named(self) -> str:
        return self.title or self.shown


@dataclass(frozen=True)
class WorkerJob:
    cells: tuple[CellJob, ...]
    probes_path: str | None
    limits: Limits
    scratch: str
    seeds: tuple[int, ...] = ()
    cgroups: tuple[str, ...] = ()  # the cgroup folders the worker joins (made by the grader)
    # Probes not to run, because they ended an earlier run: (index of the cell they follow, or the
    # number of cells for those at the end; why), reported as failed with that reason.
    unchecked: tuple[tuple[int, str], ...] = ()
    # A read-only folder of the assignment's files (data, helper modules), shown in the worker's
    # working folder and importable; None when the assignment has none.
    files: str | None = None
    language: str = "en"  # of the notes the worker writes for the student
    # The inputs and weights the grader made for the probes (plaindata), the same for every run.
    inputs: dict = field(default_factory=dict)
    # When set, only these probes run (a second run re-checks only values that depend on lesson data).
    only_probes: tuple[str, ...] | None = None
    # Nothing the cells print is kept (a second run): `print` and `display` do nothing, saving the
    # formatting of every tensor printed.
    quiet: bool = False


def encode_job(job: WorkerJob) -> bytes:
    # By hand: dataclasses.asdict deep-copies every field, a measurable cost per submission.
    data = {"cells": [vars(cell) for cell in job.cells], "probes_path": job.probes_path, "limits": vars(job.limits),
            "scratch": job.scratch, "seeds": list(job.seeds), "cgroups": list(job.cgroups),
            "unchecked": [list(pair) for pair in job.unchecked], "files": job.files, "language": job.language,
            "inputs": job.inputs, "only_probes": None if job.only_probes is None else list(job.only_probes),
            "quiet": job.quiet}
    return json.dumps(data).encode("utf-8")


def decode_job(data: dict) -> WorkerJob:
    return WorkerJob(
        cells=tuple(CellJob(**cell) for cell in data["cells"]),
        probes_path=data["probes_path"],
        limits=Limits(**data["limits"]),
        scratch=data["scratch"],
        seeds=tuple(int(seed) for seed in data.get("seeds", ())),
        cgroups=tuple(str(path) for path in data.get("cgroups", ())),
        unchecked=tuple((int(index), str(reason)) for index, reason in data.get("unchecked", ())),
        files=str(data["files"]) if data.get("files") else None,
        language=str(data.get("language", "en")),
        inputs=dict(data.get("inputs") or {}),
        only_probes=None if data.get("only_probes") is None else tuple(str(n) for n in data["only_probes"]),
        quiet=bool(data.get("quiet", False)),
    )


def as_released(notebook) -> list[CellJob]:
    """A notebook's code cells run as they are, labelled as in a submission that kept its layout."""
    return [CellJob(c.id, cell_text(c.source), "protected", label=f"code cell {number}")
            for number, c in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1)]
