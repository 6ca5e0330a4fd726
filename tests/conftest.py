"""Fixtures: small courses made of real notebooks written with nbformat."""
from __future__ import annotations

import csv
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent

# The files that take longest, longest first (measured with --durations; a full run, 2 cores). `make test` hands
# files to its workers in collection order (--dist loadfile --no-loadscope-reorder): started first, they run
# beside the many short files instead of leaving one worker alone with them at the end.
LONGEST_FIRST = ["test_otter.py", "test_lab.py", "test_claims.py", "test_student_feedback.py", "test_hidden_tests.py",
                 "test_course_files.py", "test_containers.py", "test_hand_graded.py", "test_hardening.py",
                 "test_notebook_checks.py", "test_build.py", "test_review_page.py", "test_degenerate.py"]


def pytest_collection_modifyitems(items):
    """The known-long files first, each file's tests still in their own order."""
    gone = [name for name in LONGEST_FIRST if not (REPO / "tests" / name).is_file()]
    if gone:
        raise pytest.UsageError(f"tests/conftest.py: LONGEST_FIRST names {', '.join(gone)}, not in tests/; "
                                "give the file's new name or remove it")
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def notebook(*cells) -> nbformat.NotebookNode:
    """A notebook from ('code'|'md', source) pairs, with ids c0, c1, ..."""
    made = []
    for index, (kind, source) in enumerate(cells):
        maker = new_code_cell if kind == "code" else new_markdown_cell
        made.append(maker(source, id=f"c{index}"))
    nb = new_notebook(cells=made, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.nbformat_minor = 5
    return nb


class Course:
    """A course repository in a temporary folder, driven through the real command line."""

    def __init__(self, root: Path):
        self.root = root

    def add(self, slug: str, nb, config: str = "title: Demo\n") -> Path:
        folder = self.root / "assignments" / slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "assignment.yaml").write_text(config, encoding="utf-8")
        nbformat.write(nb, folder / "source.ipynb")
        return folder

    def add_graded(self, slug: str, nb, config: str, probes: str, tests: str) -> Path:
        """An assignment with hidden tests: its notebook and settings, graders/<slug>/probes.py and
        graders/<slug>/test_<slug>.py."""
        folder = self.add(slug, nb, config)
        graders = self.root / "graders" / slug
        graders.mkdir(parents=True, exist_ok=True)
        (graders / "probes.py").write_text(probes)
        (graders / f"test_{slug}.py").write_text(tests)
        return folder

    def build(self, *slugs: str) -> None:
        """`autograder build`, which must succeed."""
        built = self.run("build", *slugs)
        assert built.returncode == 0, built.stderr

    def student(self, slug: str) -> Path:
        return self.root / "assignments" / slug / f"{slug}.ipynb"

    def solution(self, slug: str) -> Path:
        return self.root / "solutions" / f"{slug}.ipynb"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "autograder", "--root", str(self.root), *args],
            capture_output=True, text=True, timeout=300,
        )


@pytest.fixture
def course(tmp_path) -> Course:
    return Course(tmp_path)


@pytest.fixture(scope="session")
def run_cells():
    """Runs answer cells c0, c1, ... in a fresh worker and returns the Execution. The fork server is started on
    first use and shared by the session's tests (each start imports torch): every run still gets its own worker."""
    from autograder.config import Limits
    from autograder.engine.executor import Executor
    from autograder.protocol.jobs import CellJob

    started: list[Executor] = []

    def run(*sources: str):
        if not started:
            started.append(Executor(None, Limits(cell_seconds=10, notebook_seconds=30)))
        return started[0].run([CellJob(f"c{index}", source, "answer") for index, source in enumerate(sources)])

    yield run
    for executor in started:
        executor.close()


def context_left_unanswered(path: Path) -> Path:
    """The lab's correct notebook with the cell of context_vec_2 (query 2, with Q/K/V) as released:
    an earlier cell defined context_vec_2 with another shape."""
    nb = nbformat.read(REPO / "samples" / "lec27_attention" / "correct.ipynb", 4)
    released = nbformat.read(REPO / "assignments" / "lec27_attention" / "lec27_attention.ipynb", 4)
    source = next(c.source for c in released.cells if c.get("id") == "context-q2-qk")
    next(c for c in nb.cells if c.get("id") == "context-q2-qk").source = source
    nbformat.write(nb, path)
    return path


# gpt_training: code of the right shape that computes nothing (constant windows, a constant loss, a constant
# list of losses, a flat line). None of it may earn a point (tests/test_gpt_training.py).
GPT_TRAINING_STUBS = {
    "data": "for i in range(0, len(token_ids) - context_length, stride):\n"
            "        inputs.append([0] * context_length)\n        targets.append([0] * context_length)",
    "loss": "torch.tensor(4.8, requires_grad=True)",
    "train": "losses = [4.0] * num_steps",
    "loss-plot": "plt.plot(range(1, 41), [0.0] * 40, label=\"train loss\")",
}


def gpt_training_stubs(path: Path) -> Path:
    stubs = nbformat.read(REPO / "assignments" / "gpt_training" / "gpt_training.ipynb", 4)
    for cell in stubs.cells:
        if cell.get("id") in GPT_TRAINING_STUBS:
            cell.source = cell.source.replace("### your code", GPT_TRAINING_STUBS[cell.id])
    nbformat.write(stubs, path)
    return path


class SampleBatch(NamedTuple):
    """One `autograder grade` of an assignment's bundled samples, with its released notebook (`<slug>-blank.ipynb`)
    and, for the lab, `context_unanswered.ipynb`, for gpt_training, `stubs.ipynb`: the output folder, the gradebook's rows, what the command printed."""

    out: Path
    rows: dict[str, dict[str, str]]
    stdout: str
    stderr: str


def made_once(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """A folder made by `make` once per test run and shared by every pytest-xdist worker: the first worker to ask
    makes it while the others wait on a lock; a `make` that fails leaves no mark, and the next to ask tries again.
    Readers must not write into it (copy it first)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    shared.mkdir(exist_ok=True)
    made = shared / "made"
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / ".done").exists():
            made.mkdir(exist_ok=True)
            make(made)
            (shared / ".done").touch()
    return made


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory):
    """slug -> its SampleBatch, graded once per test run (made_once): several test files read the same results
    (gradebook, feedback, golden files, the staff report) and none writes into the folder."""

    def grade(slug: str, folder: Path) -> None:
        blank = folder / f"{slug}-blank.ipynb"
        blank.write_bytes((REPO / "assignments" / slug / f"{slug}.ipynb").read_bytes())
        files = [*sorted((REPO / "samples" / slug).iterdir()), blank]
        if slug == "lec27_attention":
            files.append(context_left_unanswered(folder / "context_unanswered.ipynb"))
        if slug == "gpt_training":
            files.append(gpt_training_stubs(folder / "stubs.ipynb"))
        result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "grade", slug,
                                 *map(str, files), "--out", str(folder / "out"), "--jobs", "2"],
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stderr
        (folder / "printed.json").write_text(json.dumps([result.stdout, result.stderr]), encoding="utf-8")

    def batch(slug: str) -> SampleBatch:
        folder = made_once(tmp_path_factory, f"samples-{slug}", lambda made: grade(slug, made))
        stdout, stderr = json.loads((folder / "printed.json").read_text(encoding="utf-8"))
        with (folder / "out" / "grades.csv").open(encoding="utf-8", newline="") as handle:
            rows = {r["submission"]: r for r in csv.DictReader(handle)}
        return SampleBatch(folder / "out", rows, stdout, stderr)

    return batch
