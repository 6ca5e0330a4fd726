"""Without full privileges (here: root with every capability dropped, as in a locked-down
container) the grader still grades correctly, and says loudly which isolation it could not set up."""
import csv
import shutil
import subprocess
import sys

from conftest import REPO

NO_CAPABILITIES = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all"]


def test_grading_without_capabilities_degrades_loudly_and_scores_the_same(tmp_path):
    assert shutil.which("setpriv"), "setpriv (util-linux) runs the grader without capabilities"
    for name in ("assignments", "solutions", "graders"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    subs = tmp_path / "subs"
    subs.mkdir()
    for sample in ("correct", "no_sqrt_scaling", "unfinished"):
        shutil.copy(REPO / "samples" / "lec27_attention" / f"{sample}.ipynb", subs)
    result = subprocess.run([*NO_CAPABILITIES, sys.executable, "-m", "autograder", "--root", str(tmp_path), "grade",
                             "lec27_attention", str(subs), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    scores = {r["submission"]: r["score"] for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert scores == {"correct.ipynb": "44", "no_sqrt_scaling.ipynb": "36.5", "unfinished.ipynb": "16"}
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: isolation NOT in effect")]
    assert any("a user of its own" in line for line in warnings)
    assert any("private file system" in line or "namespaces" in line for line in warnings)
    assert "the grader runs as root without some capabilities" in result.stderr
