"""Grade one submission of an assignment: intake, isolated execution, hidden tests -> a GradeReport."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ..config import AssignmentConfig, load_config
from ..course import Layout, check_packages, course_files
from ..engine.executor import Execution, Executor
from ..engine.fork_client import ForkClient
from ..engine.intake import Plan, ReleasedCell, TooManyCells, plan_submission, released_cells
from ..engine.variation import vary_cells
from ..errors import AutograderError
from ..files import files_digest
from ..i18n import language
from ..notebooks import cell_text, notebook_bytes, read_notebook, read_submission
from ..probes import load_probes
from ..protocol.jobs import CRASHED, NOT_ANSWERED, TIMEOUT
from ..protocol.messages import CellResult, ProbeResult
from ..testing import Run
from ..wording import blocked_by
from .points import GradeReport, score_questions, zero_scores
from .references import reference_run, validate_suite_on_solution
from .second_run import SecondRun, check_marked_cells, prepare_second_run
from .suite import Suite, TestOutcome, load_suite, run_test

MAX_SUBMISSION_BYTES = 20 << 20


@dataclass(frozen=True)
class Assignment:
    """Everything grading needs to know about one assignment, loaded and checked once."""

    layout: Layout
    config: AssignmentConfig
    suite: Suite
    release: tuple[ReleasedCell, ...]
    probe_cells: dict[str, str]  # probe name -> id of the cell it runs after
    # (id, source) of every cell of the student notebook, markdown too: where hand-graded answers are
    notebook_cells: tuple[tuple[str, str], ...] = ()
    # What workers see beside the notebook, by name: the assignment's files and downloaded resources.
    files: dict[str, Path] = field(default_factory=dict)
    lesson_data: dict[str, str] = field(default_factory=dict)  # cells whose data the grader varies -> varied source


def load_assignment(root: Path, slug: str) -> Assignment:
    layout = Layout(root, slug)
    config = load_config(layout.config)
    check_packages(layout, config.packages)
    if not config.questions:
        raise AutograderError(layout.config, "no questions; add a 'questions:' list to grade this assignment")
    for path in (layout.student, layout.solution):
        if not path.is_file():
            raise AutograderError(path, "missing; run 'autograder build' first")
    suite = load_suite(layout.graders, config)
    student = read_notebook(layout.student)
    release = tuple(released_cells(student))
    notebook_cells = tuple((str(c.get("id", "")), cell_text(c.source)) for c in student.cells)
    _check_hand_cells(layout, config, {cell_id for cell_id, _ in notebook_cells})
    files = course_files(layout, config.resources)
    lesson_data = vary_cells(check_marked_cells(config.lesson_data, release, layout.config), config.seeds, layout.config)
    return Assignment(layout, config, suite, release, _probe_cells(suite, release), notebook_cells, files, lesson_data)


def _check_hand_cells(layout: Layout, config: AssignmentConfig, ids: set[str]) -> None:
    """Every cell a hand-graded question names must be in the student notebook."""
    for question in config.questions:
        for cell_id in question.cells:
            if cell_id not in ids:
                raise AutograderError(layout.config, f"question '{question.id}' names cell '{cell_id}', which the "
                                                     f"student notebook {layout.student.name} does not have")


def _probe_cells(suite: Suite, release: tuple[ReleasedCell, ...]) -> dict[str, str]:
    """Probe name -> the cell it runs after (probes run at the end are left out)."""
    probes = load_probes(str(suite.probes_path))
    ids = {cell.id for cell in release}
    for cell_id in probes.cells():
        if cell_id not in ids:
            raise AutograderError(suite.probes_path,
                                  f"a probe runs after cell '{cell_id}', which the student notebook does not have")
    return {name: cell_id for cell_id, found in probes.by_cell.items() if cell_id in ids for name, _ in found}


class Grader:
    """Grades files for one assignment; one worker process per submission, several at once."""

    def __init__(self, assignment: Assignment, cache_dir: Path, server: ForkClient | None = None):
        """`server`: this assignment's fork server, started early (before torch is imported), else one is made."""
        torch.set_num_threads(1)  # comparisons are tiny; the cores belong to the workers
        self.assignment = assignment
        self.executor = Executor(str(assignment.suite.probes_path), assignment.config.limits, assignment.config.seeds,
                                 release=str(assignment.layout.student), server=server,
                                 course_files=assignment.files, preload=assignment.config.packages,
                                 inputs=assignment.suite.inputs.data)
        self.executor.worker_setup()  # workers that cannot run stop here, before anyone is graded
        self.reference = reference_run(assignment.layout.solution, assignment.suite, self.executor, cache_dir,
                                       assignment.files)
        reads = validate_suite_on_solution(assignment.suite, self.reference)
        self.test_cells = self._test_cells(reads)
        self.second_run = prepare_second_run(assignment.lesson_data, assignment.layout.solution, assignment.suite,
                                             self.executor, self.reference, reads, cache_dir, assignment.files)


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
        layout = self.assignment.layout
        for path in [layout.config, layout.student, layout.solution, *layout.grader_sources()]:
            digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
        digest.update(files_digest(self.assignment.files).encode())
        digest.update(torch.__version__.encode())
        return digest.hexdigest()[:16]

    def grade_file(self, path: Path, stem: str, raw: bytes | None = None) -> GradeReport:
        """Grade one file; `raw` is its content when the caller has read it already. Everything it
        says to the student is in the assignment's language."""
        with language(self.assignment.config.language):
            return self._grade_file(path, stem, raw)

    def _grade_file(self, path: Path, stem: str, raw: bytes | None) -> GradeReport:
        started = time.monotonic()
        config = self.assignment.config
        try:
            notebook = read_submission(path, raw if raw is not None else submission_bytes(path))
        except AutograderError as error:
            return GradeReport(path.name, stem, zero_scores(config), error=error.message)
        try:
            plan = plan_submission(list(self.assignment.release), notebook)
        except TooManyCells as problem:
            return GradeReport(path.name, stem, zero_scores(config), error=str(problem))
        execution, _, outcomes = self.first_run(plan)
        second_seconds = None
        again = self.second_execution(execution, outcomes)
        if self.second_run is not None and again is not None:
            outcomes = self.second_run.recheck(outcomes, execution, again, self.assignment.suite, self.reference.names)
            second_seconds = again.seconds
        return GradeReport(path.name, stem, score_questions(config, outcomes), execution.cells,
                           plan.notes + execution.problems, seconds=time.monotonic() - started,
                           peak_memory=execution.peak_memory, second_run_seconds=second_seconds)

    def first_run(self, plan: Plan) -> tuple[Execution, Run, list[TestOutcome]]:
        """The submission's cells run once, its values (honest: nothing read after a cell that never ran),
        and every test on them."""
        execution = self.executor.run(list(plan.cells))
        student = Run(honest_probes(execution.probes, execution.cells, self.assignment.probe_cells), self.reference.names)
        given = self.assignment.suite.inputs.given
        return execution, student, [run_test(test, student, self.reference, given) for test in self.assignment.suite.tests]

    def second_execution(self, execution: Execution, outcomes: list[TestOutcome]) -> Execution | None:
        """The second run, in a fresh worker on the varied lesson data, when a passed test read a step
        (its probes made honest as the first run's); None when there is nothing to re-check."""
        second = self.second_run
        needed = second.needed(outcomes) if second is not None else ()
        if second is None or not needed:
            return None
        again = self.executor.run(second.jobs(execution, needed, self.assignment.probe_cells), only_probes=needed,
                                  quiet=True)
        return replace(again, probes=honest_probes(again.probes, again.cells, self.assignment.probe_cells))


def honest_probes(probes: dict[str, ProbeResult], cells: tuple[CellResult, ...],
                  probe_cells: dict[str, str]) -> dict[str, ProbeResult]:
    """The values read after a cell that never ran (not answered, skipped after a timeout or crash)
    are not that cell's answer, even when an earlier cell left a value under the same name: they
    count as missing, in terms of that cell."""
    never_ran = {cell.id: cell for cell in cells if cell.status in (NOT_ANSWERED, TIMEOUT, CRASHED)
                 and cell.origin != "extra"}
    honest = dict(probes)
    for name, cell_id in probe_cells.items():
        if cell_id in never_ran:
            honest[name] = ProbeResult(False, error=blocked_by(never_ran[cell_id]))
    return honest


def submission_bytes(path: Path) -> bytes:
    """A submission's content, or an error a student can act on (missing, a folder, a link, too large)."""
    return notebook_bytes(path, MAX_SUBMISSION_BYTES, regular_only=True)


@dataclass(frozen=True)
class StudentRuns:
    """One notebook's values as `pytest --submission` sees them: the first run's, and for the step
    tests that passed there, the second run's on the varied lesson data (as `grade` re-checks them)."""

    first: Run
    second: Run | None = None          # None: no second run was needed
    second_run: SecondRun | None = None
    message: str = ""                  # why a step test that fails the second run fails

    def rechecks(self, test_name: str) -> bool:
        """Whether the test named `test_name` (pytest's item name) must pass the second run too."""
        return self.second is not None and self.second_run is not None and test_name in self.second_run.step_tests

    def second_fixtures(self) -> dict[str, Run]:
        """`student` and `reference` for the re-check: the second run's values and the solution's on the same data."""
        if self.second is None or self.second_run is None:
            raise LookupError("no second run was made")
        return {"student": self.second, "reference": self.second_run.reference}


def student_run(grader: Grader, path: Path) -> StudentRuns:
    """The probe values of one notebook, for running the hidden tests under pytest: both runs, as graded."""
    with language(grader.assignment.config.language):
        return _student_runs(grader, path)


def _student_runs(grader: Grader, path: Path) -> StudentRuns:
    plan = plan_submission(list(grader.assignment.release), read_submission(path, submission_bytes(path)))
    execution, first, outcomes = grader.first_run(plan)
    again = grader.second_execution(execution, outcomes)
    if grader.second_run is None or again is None:
        return StudentRuns(first)
    return StudentRuns(first, grader.second_run.student_values(execution, again, grader.reference.names),
                       grader.second_run, grader.second_run.message(execution))
