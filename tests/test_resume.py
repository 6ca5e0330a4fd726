"""A grader killed halfway through a batch loses nothing: the same command completes the batch."""
import csv
import os
import signal
import subprocess
import sys
import time

import nbformat
from conftest import REPO

SAMPLES = REPO / "samples" / "lec27_attention"


def test_rerun_after_a_crash_completes_without_grading_twice(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for n in range(6):  # slow enough (about 1 s each) to stop the grader in the middle
        nb = nbformat.read(SAMPLES / "correct.ipynb", 4)
        nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(1)"))
        nbformat.write(nb, subs / f"student{n}.ipynb")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "--root", str(REPO), "grade", "lec27_attention", str(subs),
               "--out", str(out), "--jobs", "1"]
    grader = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/record.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    finished = {p.parent.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*/record.json")}
    assert 2 <= len(finished) < 6
    assert not (out / "grades.csv").exists()

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    kept = [line for line in rerun.stderr.splitlines() if "graded before, kept" in line]
    assert len(kept) == len(finished)
    for stem, (mtime, data) in finished.items():
        record = out / stem / "record.json"
        assert (record.stat().st_mtime_ns, record.read_bytes()) == (mtime, data)
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert sorted(r["submission"] for r in rows) == [f"student{n}.ipynb" for n in range(6)]
    assert all(r["score"] == "44" for r in rows)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "no half-written files are left"


def test_a_changed_submission_is_graded_again(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    target = subs / "student.ipynb"
    target.write_bytes((SAMPLES / "no_sqrt_scaling.ipynb").read_bytes())
    command = [sys.executable, "-m", "autograder", "--root", str(REPO), "grade", "lec27_attention", str(target),
               "--out", str(tmp_path / "out")]
    assert "student.ipynb,36.5," in subprocess.run(command, capture_output=True, text=True).stdout
    target.write_bytes((SAMPLES / "correct.ipynb").read_bytes())
    again = subprocess.run(command, capture_output=True, text=True)
    assert "student.ipynb,44," in again.stdout and "graded before" not in again.stderr
    assert os.path.getsize(tmp_path / "out" / "student" / "results.json") > 0
