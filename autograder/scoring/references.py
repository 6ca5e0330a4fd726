"""Reference values: the solution notebook run through the same worker and probes as submissions.

Never typed by hand: random streams differ between PyTorch builds, so the values are computed
here and cached by the solution, the probes, and the torch build that produced them.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import nbformat
import torch
from nbformat import NotebookNode

from ..engine.executor import Executor
from ..errors import GraderError
from ..files import files_digest, write_atomically
from ..protocol.jobs import OK, as_released
from ..protocol.messages import ProbeResult
from ..testing import RecordingRun, Run
from .suite import Suite, run_test

FORMAT = 2  # 2: tensors as raw bytes


def reference_run(solution: Path, suite: Suite, executor: Executor, cache_dir: Path,
                  course_files: dict[str, Path] | None = None, varied: dict[str, str] | None = None) -> Run:
    """The solution's probe values, from the cache when nothing that shapes them has changed (the
    assignment's files among them); `varied`: cells run with other source (the lesson data the
    grader varies, engine/variation.py)."""
    cache = cache_file(solution, suite, cache_dir, course_files, varied)
    if cache.is_file():
        probes = {name: ProbeResult(**value) for name, value in json.loads(cache.read_text())["probes"].items()}
        return Run(probes)
    probes = run_solution(nbformat.read(solution, as_version=4), suite, executor, solution, varied)
    payload = {"format": FORMAT, "torch": torch.__version__,
               "probes": {name: {"ok": p.ok, "value": p.value, "error": p.error} for name, p in probes.items()}}
    write_atomically({cache: json.dumps(payload).encode("utf-8")})
    return Run(probes)


def cache_file(solution: Path, suite: Suite, cache_dir: Path, course_files: dict[str, Path] | None = None,
               varied: dict[str, str] | None = None) -> Path:
    """Where the solution's values for these inputs are kept: named by everything that shapes them,
    never by where the course is, so an export that carries the file is graded without the solution run."""
    key = _cache_key(solution, suite, course_files or {}, json.dumps(varied or {}, sort_keys=True).encode())
    return cache_dir / f"{solution.stem}-{key}.json"


def validate_suite_on_solution(suite: Suite, reference: Run, on: str = "") -> dict[str, set[str]]:
    """Every hidden test must pass on the solution itself, or the tests are wrong, not the students.

    Returns, per test function, the probes it read of the student's run: where its feedback
    belongs, and which values only visible tests see (what a test reads of the reference only,
    to make the values of common mistakes, is no answer it checks).
    """
    reads = {}
    for test in suite.tests:
        student, solution = RecordingRun(reference), RecordingRun(reference)
        outcome = run_test(test, student, solution, suite.inputs.given)
        if not outcome.passed:
            raise GraderError(f"hidden test {test.function_name} fails on the solution itself{on}: {outcome.message}")
        reads[test.function_name] = student.read
    return reads


def run_solution(nb: NotebookNode, suite: Suite, executor: Executor, where: Path,
                 varied: dict[str, str] | None = None) -> dict[str, ProbeResult]:
    """The solution's probe values; it must run cleanly and every probe must work on it."""
    varied = varied or {}
    cells = [replace(cell, source=varied[cell.id]) if cell.id in varied else cell for cell in as_released(nb)]
    execution = executor.run(cells)
    on = " on the lesson data the grader varied" if varied else ""
    for cell in execution.cells:
        if cell.status != OK:
            detail = cell.error["evalue"] if cell.error else "; ".join(cell.notes)
            raise GraderError(f"{where}: {cell.label} does not run cleanly in the grader{on} "
                              f"({cell.status}: {detail})")
    for name, probe in execution.probes.items():
        if not probe.ok:
            raise GraderError(f"{suite.probes_path}: probe '{name}' fails on the solution{on}: {probe.error}")
    return dict(execution.probes)


def _cache_key(solution: Path, suite: Suite, course_files: dict[str, Path], varied: bytes = b"") -> str:
    digest = hashlib.sha256()
    for part in (solution.read_bytes(), suite.probes_path.read_bytes(), torch.__version__.encode(),
                 files_digest(course_files).encode(), suite.inputs.digest().encode(), varied,
                 str(FORMAT).encode(), *(_module_source(name) for name in _SHAPING_MODULES)):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


# The code that turns a notebook's values into what the cache holds: a change to it is a new key.
_SHAPING_MODULES = ("autograder.sandboxed.worker", "autograder.protocol.plaindata", "autograder.protocol.messages")


def _module_source(name: str) -> bytes:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "get_data") or spec.origin is None:
        raise GraderError(f"cannot read the source of {name}, which the reference cache depends on")
    return spec.loader.get_data(spec.origin)
