"""The second run: a submission's steps re-checked on lesson data the grader varied.

The instructor marks the cells holding a lesson's data and seeds (`lesson_data` in
assignment.yaml). The solution runs once more with those cells varied (engine/variation.py); the
probes whose values change are the steps that depend on that data. When a test reading such a
step passes, the submission runs again in a fresh worker on the same varied data, and the test
must pass there too, against the solution's varied run: a printout typed back earns nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..engine.executor import Execution, Executor
from ..engine.intake import ReleasedCell
from ..errors import AutograderError
from ..i18n import _
from ..protocol.messages import ProbeResult
from ..testing import Run
from .references import reference_run, validate_suite_on_solution
from .suite import Suite, TestOutcome, run_test


@dataclass(frozen=True)
class SecondRun:
    varied: dict[str, str]          # cell id -> the source it runs with in the second run
    reference: Run                  # the solution on the varied data, other probes as in the first run
    step_probes: tuple[str, ...]    # probes whose value depends on the varied data
    step_reads: dict[str, frozenset[str]]  # test function -> the step probes it reads (tests reading one)

    @property
    def step_tests(self) -> frozenset[str]:
        return frozenset(self.step_reads)

    def needed(self, outcomes: list[TestOutcome]) -> tuple[str, ...]:
        """The step probes that passed tests read: only a passed step test can be taken back, so
        without any the second run is not made."""
        return tuple(sorted({name for o in outcomes if o.passed for name in self.step_reads.get(o.test.function_name, ())}))

    def jobs(self, execution: Execution, probes: tuple[str, ...], probe_cells: dict[str, str]) -> list:
        """The cells as the first run last ran them (skips kept), the marked ones with varied data, up
        to the last cell a needed probe reads after (nothing later can change what it reads)."""
        jobs = [replace(job, source=self.varied[job.id]) if job.id in self.varied and job.origin == "protected" else job
                for job in execution.jobs]
        if any(name not in probe_cells for name in probes):  # a probe run at the end needs every cell
            return jobs
        cells = {probe_cells[name] for name in probes}
        last = max((index for index, job in enumerate(jobs) if job.id in cells), default=len(jobs) - 1)
        return jobs[:last + 1]

    def student_values(self, first: Execution, second: Execution, known: set[str]) -> Run:
        """The submission's values for the re-check: its steps from the second run, the rest from the first."""
        probes: dict[str, ProbeResult] = {n: p for n, p in first.probes.items() if n not in self.step_probes}
        probes |= {n: p for n, p in second.probes.items() if n in self.step_probes}  # missing: not computed
        return Run(probes, known)

    def message(self, first: Execution) -> str:
        """Why a step test that passed the first run fails: the varied cells, named as the student sees them."""
        cells = ", ".join(job.named for job in first.jobs if job.id in self.varied)
        return _("correct on the lesson's own data, but not when the grader runs it again with other data in "
                 "{cells}: compute the values in your code instead of copying printed ones").format(cells=cells)

    def recheck(self, outcomes: list[TestOutcome], first: Execution, second: Execution, suite: Suite,
                known: set[str]) -> list[TestOutcome]:
        """Each passed step test again on the second run's values; failing there fails it."""
        student = self.student_values(first, second, known)
        message = self.message(first)
        checked = []
        for outcome in outcomes:
            if outcome.passed and outcome.test.function_name in self.step_tests:
                again = run_test(outcome.test, student, self.reference, suite.inputs.given)
                if not again.passed:
                    outcome = TestOutcome(outcome.test, False, message)
            checked.append(outcome)
        return checked


def check_marked_cells(marked: tuple[str, ...], release: tuple[ReleasedCell, ...], where: Path) -> dict[str, str]:
    """The marked cells' released sources; each must exist and be a setup cell, not an answer."""
    cells = {cell.id: cell for cell in release}
    sources = {}
    for cell_id in marked:
        cell = cells.get(cell_id)
        if cell is None:
            raise AutograderError(where, f"lesson_data: the student notebook has no code cell '{cell_id}'")
        if cell.is_answer:
            raise AutograderError(where, f"lesson_data: cell '{cell_id}' is an answer cell; mark the cells "
                                         "that hold the lesson's data, which students do not write")
        sources[cell_id] = cell.source
    return sources


def prepare_second_run(varied: dict[str, str], solution: Path, suite: Suite,
                       executor: Executor, first: Run, reads: dict[str, set[str]], cache_dir: Path,
                       course_files: dict[str, Path] | None = None) -> SecondRun | None:
    """Run the solution with the marked cells varied (`varied`: id -> source), and find the steps that depend on them."""
    if not varied:
        return None
    varied_run = reference_run(solution, suite, executor, cache_dir, course_files, varied)
    ours, theirs = first.results, varied_run.results
    steps = tuple(sorted(name for name in ours if ours[name].value != theirs[name].value))
    merged = Run({name: (theirs[name] if name in steps else ours[name]) for name in ours})
    validate_suite_on_solution(suite, merged, on=" with the lesson data the grader varied")
    step_reads = {name: frozenset(read & set(steps)) for name, read in reads.items() if read & set(steps)}
    return SecondRun(varied, merged, steps, step_reads)
