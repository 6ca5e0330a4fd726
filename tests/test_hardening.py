"""What a student controls besides code: the grader's secrets in a worker's memory, links and
special files among the submissions, file names that would take the place of the grader's own
files or become spreadsheet formulas; and who can read the outputs, and shards joined whole."""
import csv
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys

import nbformat
import pytest
from conftest import Course, notebook

CONFIG = """title: Squares
questions:
  - {id: q1, name: "Square a tensor", points: 3}
"""
PROBES = '''
import torch
from autograder.probes import Probes, need
probes = Probes()
probes.capture("square", "y")

@probes.at_end
def square_unseen(ns):
    return need(ns, "square")(torch.arange(4.0))
'''
TESTS = '''
import pytest
from autograder.testing import expect_close

@pytest.mark.question("q1")
def test_y(student, reference):
    """y is x squared"""
    expect_close(student["square:y"], reference["square:y"], "y")

@pytest.mark.question("q1")
@pytest.mark.hidden
def test_square_unseen(student, reference):
    """square() on other numbers"""
    expect_close(student["square_unseen"], reference["square_unseen"], "square")
'''
SOURCE = notebook(
    ("code", "import torch\nx = torch.tensor([1.0, 2.0, 3.0])"),
    ("code", "def square(t):\n    return t ** 2  # SOLUTION\n\ny = square(x)\nprint(y)"),
)
SOURCE.cells[1].id = "square"
SOLUTION_MARK = "t ** 2"

# A notebook cell that reads every readable byte of its own process (as an attacker would) and lists what looks like a secret.
SCAN_MEMORY = r'''
import ctypes, re
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: its own /proc/self/mem becomes readable to it
pattern = re.compile(rb"zq[0-9a-f]{24}zq")
found, scanned = set(), 0
with open("/proc/self/maps") as maps:
    regions = [line.split() for line in maps]
with open("/proc/self/mem", "rb", buffering=0) as mem:
    for fields in regions:
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if "r" not in fields[1] or fields[-1] in ("[vvar]", "[vsyscall]"):
            continue
        for at in range(start, end, 1 << 24):
            try:
                mem.seek(at)
                data = mem.read(min(end, at + (1 << 24) + 64) - at)
            except OSError:
                continue
            scanned += len(data)
            found.update(m.decode() for m in pattern.findall(data))
print("scanned", scanned, "found", sorted(found))
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.add_graded("squares", SOURCE, CONFIG, PROBES, TESTS)
    course.build()
    return course


def submission(course, path, square="t ** 2", extra=None):
    nb = nbformat.read(course.student("squares"), 4)
    nb.cells[1].source = nb.cells[1].source.replace("return ### your code", f"return {square}")
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def grade(course, *args, env=None):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "grade", "squares",
                           *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def gradebook(out):
    return {r["submission"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}


def printed(graded_notebook):
    cells = json.loads(graded_notebook.read_text())["cells"]
    return "".join(o.get("text", "") for c in cells if c["cell_type"] == "code" for o in c["outputs"])


def test_no_secret_of_the_graders_environment_or_arguments_is_in_the_workers_memory(course, tmp_path):
    token, home, path, python_path, argument = ("zq" + secrets.token_hex(12) + "zq" for _ in range(5))
    sub = submission(course, tmp_path / "subs" / "scan.ipynb", extra=SCAN_MEMORY)
    out = tmp_path / f"out-{argument}"  # the grader's own arguments hold a secret too
    result = grade(course, sub, "--out", out, env={"CI_TOKEN": token, "HOME": f"/home/{home}",
                                                   "PATH": f"{os.environ['PATH']}:/opt/{path}",
                                                   "PYTHONPATH": f"/srv/{python_path}"})
    assert result.returncode == 0, result.stderr
    text = printed(out / "scan" / "graded.ipynb")
    scanned, found = text.split("scanned ")[1].split(" found ")
    assert int(scanned) > 100 << 20, text  # torch and Python are mapped: the scan did read the process
    assert found.strip() == "[]"
    assert gradebook(out)["scan.ipynb"]["score"] == "3"


def test_links_and_special_files_get_a_row_and_nothing_is_read_through_them(course, tmp_path):
    subs = tmp_path / "subs"
    honest = submission(course, subs / "honest.ipynb")
    (subs / "to_solution.ipynb").symlink_to(course.solution("squares"))
    (subs / "to_honest.ipynb").symlink_to(honest)
    (subs / "to_folder.ipynb").symlink_to(tmp_path)
    os.mkfifo(subs / "pipe.ipynb")  # reading it would wait forever
    out = tmp_path / "out"
    result = grade(course, subs, "--out", out)
    assert result.returncode == 0, result.stderr
    rows = gradebook(out)
    assert rows["honest.ipynb"]["score"] == "3"
    for name, kind in (("to_solution.ipynb", "a symbolic link"), ("to_honest.ipynb", "a symbolic link"),
                       ("to_folder.ipynb", "a symbolic link"), ("pipe.ipynb", "a named pipe")):
        assert rows[name]["score"] == "0", name
        stem = name.removesuffix(".ipynb")
        feedback = (out / stem / "feedback.md").read_text()
        assert f"is {kind}, not a notebook file; only regular files are graded" in feedback
        assert SOLUTION_MARK not in (out / stem / "graded.ipynb").read_text()


HOSTILE_NAMES = ["grades.csv.ipynb", "shard.json.ipynb", "report.html.ipynb", "=cmd|' calc'!A0.ipynb",
                 "+SUM(1).ipynb", "@x.ipynb", "-rf .ipynb", "Alice.ipynb", "alice.ipynb", "\x1b[2Jclear.ipynb",
                 "학생" * 41 + ".ipynb"]


def test_student_file_names_cannot_replace_the_gradebook_or_become_formulas(course, tmp_path):
    subs = tmp_path / "subs"
    for name in HOSTILE_NAMES:
        submission(course, subs / name)
    out = tmp_path / "out"
    for _ in range(2):  # and a rerun keeps every result
        result = grade(course, subs, "--out", out)
        assert result.returncode == 0, result.stderr
        assert (out / "grades.csv").is_file() and (out / "shard.json").is_file()
        lines = (out / "grades.csv").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1 + len(HOSTILE_NAMES)
    rows = gradebook(out)
    assert {row["score"] for row in rows.values()} == {"3"}
    for name in ("=cmd|' calc'!A0.ipynb", "+SUM(1).ipynb", "@x.ipynb"):
        assert "'" + name in rows  # an apostrophe first: text, not a formula, in a spreadsheet
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == len(HOSTILE_NAMES) and not any("." in name for name in folders)
    assert {"Alice", "alice-2"} <= set(folders)
    assert "\x1b" not in result.stdout + result.stderr  # the terminal shows escapes, never runs them


def test_an_error_message_quoting_the_file_name_shows_escapes_on_the_terminal(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "notes.\x1b]0;pwned\x07\x1b[2J").write_text("not a notebook")  # its error quotes the extension
    result = grade(course, subs, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "not a Jupyter notebook ('.\\x1b]0;pwned\\x07\\x1b[2J' file)" in result.stderr
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stderr


def test_outputs_are_readable_by_the_user_who_ran_sudo_and_the_group(course, tmp_path):
    assert os.geteuid() == 0, "sudo is emulated as root with SUDO_UID set"
    sub = submission(course, tmp_path / "subs" / "honest.ipynb")
    out = tmp_path / "out"
    result = subprocess.run(["sh", "-c", 'umask 077 && exec "$@"', "sh", sys.executable, "-m", "autograder", "--root",
                             str(course.root), "grade", "squares", str(sub), "--out", str(out)],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "SUDO_UID": "4321", "SUDO_GID": "4322"})
    assert result.returncode == 0, result.stderr
    paths = [out, *out.rglob("*")]
    assert {p.name for p in paths} >= {"grades.csv", "results.json", "feedback.md", "graded.ipynb"}
    for path in paths:
        status = path.stat()
        assert (status.st_uid, status.st_gid) == (4321, 4322), path
        assert status.st_mode & stat.S_IRGRP, path


def test_merge_refuses_a_missing_or_repeated_shard(course, tmp_path):
    subs = tmp_path / "subs"
    for name in ("a", "b", "c"):
        submission(course, subs / f"{name}.ipynb")
    for k in (1, 2):
        assert grade(course, subs, "--out", tmp_path / f"s{k}", "--shard", f"{k}/2").returncode == 0

    def merge(*folders):
        return course.run("merge", *map(str, folders), "--out", str(tmp_path / "merged"))

    missing = merge(tmp_path / "s1")
    assert missing.returncode == 2 and "shard(s) 2 of 2 are missing" in missing.stderr
    repeated = merge(tmp_path / "s1", tmp_path / "s1")
    assert repeated.returncode == 2 and "shard 1/2 is given twice" in repeated.stderr
    assert not (tmp_path / "merged" / "grades.csv").exists()
    whole = merge(tmp_path / "s1", tmp_path / "s2")
    assert whole.returncode == 0, whole.stderr
    assert sorted(gradebook(tmp_path / "merged")) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    assert (tmp_path / "merged" / "questions.json").read_bytes() == (tmp_path / "s1" / "questions.json").read_bytes()


# A cell that ignores its alarm and keeps writing a fresh start time on the grader's progress page.
REWRITES_ITS_START = r'''
import ctypes, signal, struct, time
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/self/maps becomes readable to it
signal.signal(signal.SIGALRM, signal.SIG_IGN)
with open("/proc/self/maps") as maps:
    page = int(next(line for line in maps if "autograder-job" in line).split("-")[0], 16)
fields = (ctypes.c_char * 32).from_address(page)
sequence, index, stage, _ = struct.unpack_from("<Qqqd", fields, 0)
end = time.monotonic() + 8
while time.monotonic() < end:
    sequence += 2
    struct.pack_into("<Qqqd", fields, 0, sequence, index, stage, time.monotonic())
    time.sleep(0.02)
print("ran to the end")
'''


def test_a_cell_is_stopped_on_the_graders_clock_whatever_it_writes_on_the_progress_page(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course.root, root)
    config = root / "assignments" / "squares" / "assignment.yaml"
    config.write_text(config.read_text() + "limits: {cell_seconds: 2, notebook_seconds: 60}\n")
    sub = submission(course, tmp_path / "subs" / "rewrites.ipynb", extra=REWRITES_ITS_START)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "grade", "squares", str(sub),
                             "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "ran to the end" not in printed(out / "rewrites" / "graded.ipynb")
    assert "still running after 2 s, the time limit of one cell" in (out / "rewrites" / "feedback.md").read_text()
    assert gradebook(out)["rewrites.ipynb"]["score"] == "3"  # the answers before it keep their points


# Cell reports forged by the notebook itself, each with 7 MB of output, then a report that it is done.
FORGES_REPORTS = r'''
import json, os, stat, struct
pipe = next(fd for fd in range(3, 64) if _is_pipe(fd))
for index in range(3):
    body = json.dumps({"type": "cell", "index": index, "id": "forged", "status": "ok", "output": "x" * (7 << 20),
                       "error": None, "notes": []}).encode()
    os.write(pipe, struct.pack("!I", len(body)) + body)
body = json.dumps({"type": "done"}).encode()
os.write(pipe, struct.pack("!I", len(body)) + body)
os._exit(0)
'''
IS_PIPE = '''
import os, stat
def _is_pipe(fd):
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False
'''


def test_forged_reports_and_malformed_files_cost_the_grader_a_bounded_amount(course, tmp_path):
    subs = tmp_path / "subs"
    submission(course, subs / "forged.ipynb", extra=IS_PIPE + FORGES_REPORTS)
    (subs / "nested.ipynb").write_text('{"nbformat": 4, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    many = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"y = {k}") for k in range(400)])
    for cell in many.cells:
        del cell["id"]
    many.nbformat_minor = 4
    nbformat.write(many, subs / "many_cells.ipynb")
    submission(course, subs / "honest.ipynb")
    out = tmp_path / "out"
    result = grade(course, subs, "--out", out)
    assert result.returncode == 0, result.stderr
    rows = gradebook(out)
    assert rows["honest.ipynb"]["score"] == "3"
    graded = out / "forged" / "graded.ipynb"
    assert graded.stat().st_size < 5 << 20  # 21 MB were sent; a cell keeps 1 MB (output_kb), a notebook 4 MB
    outputs = [o.get("text", "") for c in json.loads(graded.read_text())["cells"] if c["cell_type"] == "code"
               for o in c["outputs"]]
    assert max(map(len, outputs)) <= (1 << 20) + 100
    nested = (out / "nested" / "feedback.md").read_text()
    assert rows["nested.ipynb"]["score"] == "0" and "nested too deeply" in nested and "grader failed" not in nested
    many_cells = (out / "many_cells" / "feedback.md").read_text()
    assert rows["many_cells.ipynb"]["score"] == "0" and "it has 400 code cells" in many_cells
