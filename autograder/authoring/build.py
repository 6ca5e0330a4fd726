"""Per assignment: compile the source, execute the solution, write both notebooks atomically, check freshness."""
from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from ..config import AssignmentConfig, load_config
from ..course import Layout, check_packages, course_files
from ..notebooks import read_notebook
from .compile import compile_notebook, serialize
from .solution_kernel import execute_solution


@dataclass(frozen=True)
class BuildOutput:
    """What one assignment builds to: file path -> exact bytes."""

    slug: str
    files: dict[Path, bytes]


def build_assignment(root: Path, slug: str) -> BuildOutput:
    """Compile and execute one assignment entirely in memory; nothing is written."""
    layout = Layout(root, slug)
    config = load_config(layout.config)
    check_packages(layout, config.packages)
    files = course_files(layout, config.resources)
    source = read_notebook(layout.source)
    compiled = compile_notebook(source, layout.source)
    solution = compiled.solution
    with tempfile.TemporaryDirectory(prefix=f"build-{slug}-") as workdir:
        _stage(files, Path(workdir))
        execute_solution(solution, Path(workdir), config.limits, layout.source,
                         compiled.solution_lines, compiled.source_index)
    student = _with_outputs(compiled.student, solution, config)
    # Lets `autograder check` find the assignment even when the student renames the file.
    student.metadata["autograder"] = {"assignment": slug}
    outputs: dict[Path, bytes] = {}
    if config.notebook_checks or layout.probes.is_file():
        outputs[layout.checks] = _notebook_checks(layout, config, solution, student, files)
    if not config.solution_execution_counts:
        _clear_counts(solution)
    outputs |= {layout.student: serialize(student), layout.solution: serialize(solution)}
    return BuildOutput(slug, outputs)


def _stage(files: dict[str, Path], workdir: Path) -> None:
    """The solution runs beside what a worker sees (the assignment's files and resources), not the whole
    folder: no settings, no hidden entries or Python caches, at the top or inside a folder."""
    for name, path in files.items():
        if path.is_dir():
            shutil.copytree(path, workdir / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        else:
            shutil.copyfile(path, workdir / name)


def _notebook_checks(layout: Layout, config: AssignmentConfig, solution, student, files: dict[str, Path]) -> bytes:
    """The checks file every handout carries (reference values from the grader's own worker), and
    with `notebook_checks: true` the check cells in the student notebook."""
    from ..engine.executor import Executor
    from ..scoring.references import run_solution, validate_suite_on_solution
    from ..scoring.suite import load_suite
    from ..testing import Run
    from .notebook_checks import add_check_cells, checks_file, shippable_checks

    suite = load_suite(layout.graders, config)
    executor = Executor(str(suite.probes_path), config.limits, config.seeds, course_files=files, inputs=suite.inputs.data)
    try:
        reference = Run(run_solution(solution, suite, executor, layout.source))
    finally:
        executor.close()
    checks = shippable_checks(suite, validate_suite_on_solution(suite, reference), config)
    made = checks_file(student, layout.slug, config, checks, reference, list(files))
    if config.notebook_checks:
        add_check_cells(student, layout.slug, config, checks)
    return made


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
