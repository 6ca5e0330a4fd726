"""The Otter export, graded by the real otter-grader: `otter run -a autograder.zip submission.ipynb`
gives every bundled lab sample the same points per question as this grader."""
import csv
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import REPO

SAMPLES = REPO / "samples" / "lec27_attention"
READABLE = sorted(p for p in SAMPLES.glob("*.ipynb") if p.name != "unreadable.ipynb")


@pytest.fixture(scope="module")
def otter_and_ours(tmp_path_factory):
    work = tmp_path_factory.mktemp("otter")
    exported = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "export", "otter",
                               "lec27_attention", "--out", str(work)], capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    otter = shutil.which("otter", path=str(Path(sys.executable).parent))
    assert otter, "otter-grader is a dependency (pyproject.toml)"

    def run(sample: Path) -> tuple[str, dict]:
        out = work / sample.stem
        out.mkdir()
        result = subprocess.run([otter, "run", "-a", str(work / "autograder.zip"), str(sample), "-o", str(out)],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        tests = json.loads((out / "results.json").read_text())["tests"]
        return sample.name, {t["name"]: t["score"] for t in tests if t["name"] != "Public Tests"}

    with ThreadPoolExecutor(2) as pool:
        otter_scores = dict(pool.map(run, READABLE))
    ours = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "grade", "lec27_attention",
                           *map(str, READABLE), "--out", str(work / "ours")], capture_output=True, text=True, timeout=600)
    assert ours.returncode == 0, ours.stderr
    rows = {r["submission"]: r for r in csv.DictReader((work / "ours" / "grades.csv").open())}
    return otter_scores, rows


@pytest.mark.parametrize("sample", [p.name for p in READABLE])
def test_otter_gives_the_same_points_per_question(otter_and_ours, sample):
    otter_scores, rows = otter_and_ours
    questions = [f"q{n}" for n in range(1, 15)]
    assert set(otter_scores[sample]) == set(questions)
    for question in questions:
        assert otter_scores[sample][question] == pytest.approx(float(rows[sample][question]), abs=1e-3), question


def test_export_has_one_otter_test_file_per_question(tmp_path):
    subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "export", "otter", "lec27_attention",
                    "--out", str(tmp_path)], check=True, capture_output=True, timeout=120)
    import zipfile
    names = zipfile.ZipFile(tmp_path / "autograder.zip").namelist()
    assert sorted(n for n in names if n.startswith("tests/")) == sorted(f"tests/q{n}.py" for n in range(1, 15))
    assert "files/autograder_course/solutions/lec27_attention.ipynb" in names
