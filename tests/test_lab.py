"""The lab of seed 003 as built here: the student notebook is the seed's, the solution prints its values."""
import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from conftest import REPO

SEED = (Path(__file__).parent / "data" / "lec27_seed.txt").read_text(encoding="utf-8")
STUDENT = REPO / "assignments" / "lec27_attention" / "lec27_attention.ipynb"
SOLUTION = REPO / "solutions" / "lec27_attention.ipynb"
HEADER = re.compile(r"^In \[[^\]]*\]:\n", re.M)
# Code cells (0-based) whose output depends on the build: the torch version, the two dropout
# masks (random stream), and the last cell, whose output the seed shows only in part.
VERSION, CAUSAL_WEIGHTS, DROPOUT_ONES, DROPOUT_WEIGHTS, MHA = 0, 31, 32, 33, 37
BUILD_DEPENDENT = {VERSION, DROPOUT_ONES, DROPOUT_WEIGHTS, MHA}


def code_cells(path):
    return [c for c in nbformat.read(path, 4).cells if c.cell_type == "code"]


def output_text(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def seed_chunks() -> list[str]:
    """The text after each 'In [..]:' header of the seed: the code, its output, then lesson text."""
    return HEADER.split(SEED)[1:]


def numbers(text: str) -> torch.Tensor:
    return torch.tensor([float(x) for x in re.findall(r"-?\d+\.\d*", text)])


def test_both_notebooks_validate():
    for path in (STUDENT, SOLUTION):
        nbformat.validate(nbformat.read(path, 4))


def test_student_code_cells_are_the_seed_code_cells():
    cells, chunks = code_cells(STUDENT), seed_chunks()
    assert len(cells) == len(chunks) == 38
    for index, (cell, chunk) in enumerate(zip(cells, chunks)):
        assert chunk.startswith(cell.source + "\n"), f"code cell {index} differs from the seed"
    assert sum(cell.source.count("### your code") for cell in cells) == 70
    assert [c.source.count("### your code") for c in cells] == [c.split("\n\n\n")[0].count("### your code") for c in chunks]


def test_student_notebook_reads_as_the_seed():
    """Lesson text, code and outputs, token by token; differences only in build-dependent outputs."""
    ours, allowed, index = [], [], -1
    for cell in nbformat.read(STUDENT, 4).cells:
        if cell.cell_type == "markdown":
            ours += cell.source.split()
            continue
        index += 1
        ours += ["<In>"] + cell.source.split()
        start = len(ours)
        ours += output_text(cell).split()
        if index in BUILD_DEPENDENT:
            allowed.append((start, len(ours)))
    theirs = HEADER.sub("<In>\n", SEED).split()
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            assert any(start <= i1 and i2 <= end for start, end in allowed), (
                f"differs from the seed: ours {' '.join(ours[max(0, i1 - 5):i2 + 5])!r} "
                f"seed {' '.join(theirs[max(0, j1 - 5):j2 + 5])!r}")


def test_solution_prints_the_seed_values_where_the_build_does_not_matter():
    cells, chunks = code_cells(SOLUTION), seed_chunks()
    squash = lambda text: " ".join(text.split())  # noqa: E731
    for index, (cell, chunk) in enumerate(zip(cells, chunks)):
        assert cell.execution_count == index + 1
        if index not in BUILD_DEPENDENT:
            assert cell.outputs or index in (1, 15, 16), f"cell {index} printed nothing"
            assert squash(output_text(cell)) in squash(chunk), f"cell {index} prints other values than the seed"
    assert output_text(cells[VERSION]) == f"파이토치 버전: {torch.__version__}\n"
    # The seed cuts the last output short: what it shows must be the start of ours.
    shown = chunks[MHA][len(code_cells(STUDENT)[MHA].source):].split("\n\n`MultiHeadAttention`는")[0]
    assert squash(output_text(cells[MHA])).startswith(squash(shown))
    assert "context_vecs.shape: torch.Size([2, 6, 4])" in output_text(cells[MHA])


def test_dropout_cells_show_a_valid_mask():
    cells = code_cells(SOLUTION)
    mask = numbers(output_text(cells[DROPOUT_ONES])).reshape(6, 6)
    assert set(mask.unique().tolist()) == {0.0, 2.0}, "ones under dropout(p=0.5) are 0 or 1/(1-p) = 2"
    causal = numbers(output_text(cells[CAUSAL_WEIGHTS])).reshape(6, 6)
    dropped = numbers(output_text(cells[DROPOUT_WEIGHTS])).reshape(6, 6)
    # Same seed, same mask: each weight is dropped or doubled exactly where the ones were.
    torch.testing.assert_close(dropped, causal * mask, atol=1.5e-4, rtol=0)


@pytest.fixture
def repo_copy(tmp_path):
    # The whole repository as committed (make check also lints the package and the tests).
    skip = shutil.ignore_patterns("__pycache__", ".venv", ".git", ".cache", "build", "*.egg-info", ".pytest_cache")
    shutil.copytree(REPO, tmp_path, ignore=skip, dirs_exist_ok=True)
    return tmp_path


def test_make_check_fails_naming_the_stale_notebook(repo_copy):
    venv = Path(sys.prefix)
    # -o: the copy uses this test's installed environment as is, without re-running setup.
    make = ["make", "-s", "-C", str(repo_copy), f"VENV={venv}", "-o", str(venv / ".installed"), "check"]
    # The committed build is fresh (make check begins with `build --check`), and lint and types pass.
    fresh = subprocess.run(make, capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr

    # The stale run needs only the lab: the other assignments' solutions are not executed a second time.
    for other in (repo_copy / "assignments").iterdir():
        if other.name != "lec27_attention":
            shutil.rmtree(other)
    source = repo_copy / "assignments" / "lec27_attention" / "source.ipynb"
    nb = nbformat.read(source, 4)
    code = next(c for c in nb.cells if c.cell_type == "code" and "# SOLUTION" in c.source)
    code.source = code.source.replace("inputs[1]", "inputs[2]", 1)
    nbformat.write(nb, source)
    result = subprocess.run(make, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "stale: solutions/lec27_attention.ipynb" in result.stderr
