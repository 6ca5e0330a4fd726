"""Per assignment: compile the source, execute the solution, write both notebooks atomically, check freshness."""
from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from .compile import compile_notebook, serialize
from .config import CONFIG_NAME, AssignmentConfig, load_config
from .errors import AutograderError

from .kernel import execute_solution
from .notebook_file import read_notebook

SOURCE_NAME = "source.ipynb"


@dataclass(frozen=True)
class Layout:
    """Where an assignment's files live, relative to the course repository root."""

    root: Path
    slug: str

    @property
    def folder(self) -> Path:
        return self.root / "assignments" / self.slug

    @property
    def source(self) -> Path:
        return self.folder / SOURCE_NAME

    @property
    def config(self) -> Path:
        return self.folder / CONFIG_NAME

    @property
    def student(self) -> Path:
        return self.folder / f"{self.slug}.ipynb"

    @property
    def solution(self) -> Path:
        return self.root / "solutions" / f"{self.slug}.ipynb"

    @property
    def graders(self) -> Path:
        return self.root / "graders" / self.slug


@dataclass(frozen=True)
class BuildOutput:
    """What one assignment builds to: file path -> exact bytes."""

    slug: str
    files: dict[Path, bytes]


def discover(root: Path) -> list[str]:
    """Slugs of all assignments (folders with an assignment.yaml), in name order."""
    folder = root / "assignments"
    return sorted(p.parent.name for p in folder.glob(f"*/{CONFIG_NAME}")) if folder.is_dir() else []


def resolve_slugs(root: Path, slugs: list[str]) -> list[str]:
    """The slugs asked for (all when none), each checked to exist."""
    known = discover(root)
    if not slugs:
        if not known:
            raise AutograderError(root / "assignments", f"no assignments found (expected assignments/<slug>/{CONFIG_NAME})")
        return known
    for slug in slugs:
        if slug not in known:
            raise AutograderError(Layout(root, slug).source,
                                  f"no assignment '{slug}' here (known: {', '.join(known) or 'none'})")
    return list(slugs)


def build_assignment(root: Path, slug: str) -> BuildOutput:
    """Compile and execute one assignment entirely in memory; nothing is written."""
    layout = Layout(root, slug)
    config = load_config(layout.config)
    source = read_notebook(layout.source)
    compiled = compile_notebook(source, layout.source)
    solution = compiled.solution
    with tempfile.TemporaryDirectory(prefix=f"build-{slug}-") as workdir:
        shutil.copytree(layout.folder, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.ipynb"))
        execute_solution(solution, Path(workdir), config.limits, layout.source,
                         compiled.solution_lines, compiled.source_index)
    student = _with_outputs(compiled.student, solution, config)
    # Lets `autograder check` find the assignment even when the student renames the file.
    student.metadata["autograder"] = {"assignment": slug}
    files = {}
    if config.notebook_checks:
        files[layout.folder / f"{slug}_checks.json"] = _notebook_checks(root, slug, config, solution, student)
    if not config.solution_execution_counts:
        _clear_counts(solution)
    files |= {layout.student: serialize(student), layout.solution: serialize(solution)}
    return BuildOutput(slug, files)


def _notebook_checks(root: Path, slug: str, config: AssignmentConfig, solution, student) -> bytes:
    """Reference values from the grader's own worker, and the check cells they allow."""
    from .checks import add_checks, shippable_checks
    from .execute import Executor
    from .hidden_tests import load_suite
    from .references import check_suite_on_reference, run_solution
    from .testing import Run

    suite = load_suite(root / "graders" / slug, config)
    executor = Executor(str(suite.probes_path), config.limits, config.seeds)
    try:
        reference = Run(run_solution(solution, suite, executor, Layout(root, slug).source))
    finally:
        executor.close()
    reads = check_suite_on_reference(suite, reference)
    return add_checks(student, slug, config, shippable_checks(suite, reads, config), reference)


def _with_outputs(student: NotebookNode, solution: NotebookNode, config: AssignmentConfig) -> NotebookNode:
    """The student notebook, showing the solution's outputs under its cells when the config asks for it."""
    if config.student_outputs:
        outputs = {cell.id: cell.outputs for cell in solution.cells if cell.cell_type == "code"}
        for cell in student.cells:
            if cell.cell_type == "code":
                cell.outputs = copy.deepcopy(outputs.get(cell.id, []))
    _clear_counts(student)
    return student


def _clear_counts(nb: NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = None


def stale_files(output: BuildOutput) -> list[Path]:
    """Generated files on disk that differ from (or are missing against) what the source builds now."""
    return [path for path, data in output.files.items() if not path.is_file() or path.read_bytes() != data]
