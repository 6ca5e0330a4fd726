"""Grade submissions of one assignment: intake, isolated execution, hidden tests, reports on disk."""
from __future__ import annotations

import gc
import hashlib
import os
import importlib.util
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import torch

from .build import Layout
from .config import AssignmentConfig, load_config
from .errors import AutograderError, GraderError
from .execute import Executor, ForkServer
from .files import write_atomically
from .hidden_tests import Suite, load_suite, run_test
from .merge import in_shard
from .notebook_file import notebook_bytes, read_notebook, read_submission
from .references import check_suite_on_reference, reference_run
from .report import feedback_markdown, graded_notebook, grades_csv, results_json
from .scoring import GradeReport, score_questions, zero_scores
from .submission import ReleasedCell, plan_submission, released_cells
from .testing import Run

MAX_SUBMISSION_BYTES = 20 << 20


def default_jobs() -> int:
    """Twice the cores: a worker waits now and then (joining its cgroup, on the grader), and the
    others keep the cores busy meanwhile; measured with `make bench`, more gains nothing."""
    return 2 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Assignment:
    """Everything grading needs to know about one assignment, loaded and checked once."""

    layout: Layout
    config: AssignmentConfig
    suite: Suite
    release: tuple[ReleasedCell, ...]
    probe_cells: dict[str, str]  # probe name -> id of the cell it runs after


def load_assignment(root: Path, slug: str) -> Assignment:
    layout = Layout(root, slug)
    config = load_config(layout.config)
    if not config.questions:
        raise AutograderError(layout.config, "no questions; add a 'questions:' list to grade this assignment")
    for path in (layout.student, layout.solution):
        if not path.is_file():
            raise AutograderError(path, "missing; run 'autograder build' first")
    suite = load_suite(layout.graders, config)
    release = tuple(released_cells(read_notebook(layout.student)))
    return Assignment(layout, config, suite, release, _probe_cells(suite, release))


def _probe_cells(suite: Suite, release: tuple[ReleasedCell, ...]) -> dict[str, str]:
    """Probe name -> the cell it runs after (probes run at the end are left out)."""
    spec = importlib.util.spec_from_file_location("probes_check", suite.probes_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ids = {cell.id for cell in release}
    for cell_id in module.probes.cells():
        if cell_id not in ids:
            raise AutograderError(suite.probes_path, f"a probe runs after cell '{cell_id}', which the student notebook does not have")
    return {name: cell_id for cell_id, probes in module.probes.by_cell.items() if cell_id in ids for name, _ in probes}


class Grader:
    """Grades files for one assignment; one worker process per submission, several at once."""

    def __init__(self, assignment: Assignment, cache_dir: Path, server: ForkServer | None = None):
        """`server`: this assignment's fork server, started early (before torch is imported), else one is made."""
        torch.set_num_threads(1)  # comparisons are tiny; the cores belong to the workers
        self.assignment = assignment
        self.executor = Executor(str(assignment.suite.probes_path), assignment.config.limits, assignment.config.seeds,
                                 release=str(assignment.layout.student), server=server)
        self.reference = reference_run(assignment.layout.solution, assignment.suite, self.executor, cache_dir)
        self.test_cells = self._test_cells(check_suite_on_reference(assignment.suite, self.reference))

    def _test_cells(self, reads: dict[str, set[str]]) -> dict[str, str]:
        """Test function name -> the last cell whose values it checks, where its feedback belongs."""
        order = {cell.id: index for index, cell in enumerate(self.assignment.release)}
        placed = {}
        for test, names in reads.items():
            cells = {self.assignment.probe_cells[name] for name in names if name in self.assignment.probe_cells}
            if cells:
                placed[test] = max(cells, key=lambda cell: order[cell])
        return placed

    def close(self) -> None:
        self.executor.close()

    def fingerprint(self) -> str:
        """Changes whenever a result graded earlier could differ now: tests, probes, solution, config."""
        digest = hashlib.sha256()
        folder = self.assignment.suite.folder
        for path in [self.assignment.layout.config, self.assignment.layout.student, self.assignment.layout.solution,
                     *sorted(folder.glob("*.py"))]:
            digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
        digest.update(torch.__version__.encode())
        return digest.hexdigest()[:16]

    def grade_file(self, path: Path, stem: str, raw: bytes | None = None) -> GradeReport:
        """Grade one file; `raw` is its content when the caller has read it already."""
        started = time.monotonic()
        config = self.assignment.config
        try:
            notebook = read_submission(path, raw if raw is not None else submission_bytes(path))
        except AutograderError as error:
            return GradeReport(path.name, stem, zero_scores(config), error=error.message)
        plan = plan_submission(list(self.assignment.release), notebook)
        execution = self.executor.run(list(plan.cells))
        student = Run(execution.probes, self.reference.names)
        outcomes = [run_test(test, student, self.reference) for test in self.assignment.suite.tests]
        return GradeReport(path.name, stem, score_questions(config, outcomes), execution.cells,
                           plan.notes + execution.problems, seconds=time.monotonic() - started,
                           peak_memory=execution.peak_memory)


def submission_bytes(path: Path) -> bytes:
    """A submission's content, or an error a student can act on (missing, a folder, too large)."""
    return notebook_bytes(path, MAX_SUBMISSION_BYTES)


def student_run(grader: Grader, path: Path) -> Run:
    """The probe values of one notebook, for running the hidden tests under pytest."""
    plan = plan_submission(list(grader.assignment.release), read_submission(path))
    return Run(grader.executor.run(list(plan.cells)).probes, grader.reference.names)


def unique_stems(paths: list[Path]) -> list[str]:
    """A result folder name per submission: its file stem, made safe and unique within the batch."""
    stems, seen = [], set()
    for path in paths:
        base = re.sub(r"[^\w.-]", "_", path.stem).lstrip(".") or "submission"
        stem, n = base, 1
        while stem in seen:
            n += 1
            stem = f"{base}-{n}"
        seen.add(stem)
        stems.append(stem)
    return stems


def grade_batch(assignment: Assignment, paths: list[Path], out: Path, jobs: int, cache_dir: Path,
                on_report: Callable[[GradeReport, bool], None] = lambda report, reused: None,
                on_isolation: Callable[[list[str], list[str]], None] = lambda layers, missing: None,
                shard: tuple[int, int] | None = None, server: ForkServer | None = None) -> list[GradeReport]:
    """Grade every path, writing each result as soon as it is known; the gradebook last. Returns the
    gradebook's rows (`on_report` is given each whole report).

    A file whose result is already in `out` (same bytes, same tests) is not graded again, so a
    batch stopped halfway is completed by running the same command again. With `shard` (K, N) only
    every N-th file from the K-th is graded; names are chosen over the whole batch, so shards join.
    """
    grader = Grader(assignment, cache_dir, server)
    on_isolation(*grader.executor.check_isolation())
    # Torch, the tests and the reference values live as long as the batch: keep the collector off them.
    gc.collect()
    gc.freeze()
    config = assignment.config
    fingerprint = grader.fingerprint()
    lock = threading.Lock()

    def one(item: tuple[Path, str]) -> GradeReport:
        path, stem = item
        folder = out / stem
        try:
            raw = submission_bytes(path)
        except AutograderError:
            raw = None  # grade_file says what is wrong
        digest = hashlib.sha256(raw).hexdigest() if raw is not None else None
        report = _earlier_result(folder, path, digest, fingerprint, config)
        reused = report is not None
        if report is None:
            try:
                report = grader.grade_file(path, stem, raw)
            except GraderError:
                raise
            except Exception as exc:  # a bug of ours must not cost the student their row
                report = GradeReport(path.name, stem, zero_scores(config),
                                     error=f"the grader failed on this file ({type(exc).__name__}: {exc}); tell the course staff")
            # record.json goes last: it is the mark that this submission is done.
            feedback = feedback_markdown(report, config)
            write_atomically({folder / "results.json": results_json(report, config),
                              folder / "feedback.md": feedback,
                              folder / "graded.ipynb": graded_notebook(report, feedback, grader.test_cells),
                              folder / RECORD: _record(report, digest, fingerprint)}, durable=False)
        with lock:
            on_report(report, reused)
        return gradebook_row(report)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            mine = [item for index, item in enumerate(zip(paths, unique_stems(paths))) if in_shard(index, shard)]
            reports = list(pool.map(one, mine))
    finally:
        grader.close()
    write_atomically({out / "grades.csv": grades_csv(reports, config)})
    return reports


RECORD = "record.json"


def gradebook_row(report: GradeReport) -> GradeReport:
    """What the batch keeps of a report once its files are written: its scores, not its cells and
    test messages, so that memory stays flat however many submissions a batch has."""
    return replace(report, questions=tuple(replace(q, outcomes=()) for q in report.questions), cells=(), notes=())


def _record(report: GradeReport, digest: str | None, fingerprint: str) -> bytes:
    return json.dumps({"submission": report.submission, "sha256": digest, "fingerprint": fingerprint,
                       "error": report.error, "seconds": report.seconds, "peak_memory": report.peak_memory,
                       # The real reasons, hidden tests included: for the staff report, never shown to students.
                       "failures": [[f"{q.name}: {o.test.name}", o.message] for q in report.questions
                                    for o in q.outcomes if not o.passed],
                       "max_scores": {q.id: q.max_score for q in report.questions},
                       "scores": {q.id: q.score for q in report.questions}}).encode("utf-8")


def _earlier_result(folder: Path, path: Path, digest: str | None, fingerprint: str,
                    config: AssignmentConfig) -> GradeReport | None:
    """The result graded before for these exact bytes under these exact tests, if any."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if digest is None or record.get("sha256") != digest or record.get("fingerprint") != fingerprint \
            or not (folder / "results.json").is_file():
        return None
    scores = record.get("scores", {})
    questions = tuple(replace(q, score=float(scores.get(q.id, 0.0))) for q in zero_scores(config))
    return GradeReport(path.name, folder.name, questions, error=record.get("error"), seconds=record.get("seconds", 0.0),
                       peak_memory=record.get("peak_memory"))


def expand(arguments: Iterable[Path]) -> list[Path]:
    """Submission arguments -> files: a folder stands for the files directly inside it."""
    files = []
    for argument in arguments:
        if argument.is_dir():
            files += sorted(p for p in argument.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            files.append(argument)
    return files
