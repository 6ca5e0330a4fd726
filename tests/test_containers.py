"""Where courses grade: root with Docker's default capabilities (no CAP_SYS_ADMIN: Gradescope, most
CI containers) and a plain user (a GitHub runner without sudo). Grades equal a full root's, the
isolation that is missing is named, and when workers cannot run at all the batch stops with exit 3
instead of giving every student a zero."""
import csv
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from conftest import REPO

SLUG = "attention_basics"
SCORES = {"correct.ipynb": "21", "scale_by_d_k.ipynb": "16", "unfinished.ipynb": "12", "wrong_mask_direction.ipynb": "16"}
DOCKER_ROOT = ["capsh", "--drop=cap_sys_admin", "--"]  # root keeping Docker's default capabilities
PLAIN_USER = "autograder-plain"


def course_copy(folder: Path) -> Path:
    for name in ("assignments", "solutions", "graders"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "samples" / SLUG, folder / "subs")
    return folder


def grade_command(root: Path, python: str = sys.executable) -> list[str]:
    return [python, "-m", "autograder", "--root", str(root), "grade", SLUG, str(root / "subs"), "--out", str(root / "out")]


def scores(root: Path) -> dict[str, str]:
    return {r["submission"]: r["score"] for r in csv.DictReader((root / "out" / "grades.csv").open())}


def test_docker_style_root_grades_like_root_with_its_own_user_per_worker(tmp_path):
    root = course_copy(tmp_path)
    result = subprocess.run([*DOCKER_ROOT, "-c", " ".join(map(str, grade_command(root)))],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert scores(root) == SCORES
    isolation = next(line for line in result.stderr.splitlines() if line.startswith("isolation: "))
    assert "unprivileged user" in isolation and "private read-only file system" in isolation, isolation
    assert "your notebook stopped" not in (root / "out" / "correct" / "feedback.md").read_text()


def plain_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PLAIN_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PLAIN_USER], check=True)
        return pwd.getpwnam(PLAIN_USER)


def test_a_plain_user_grades_the_same_and_is_told_what_is_missing():
    user = plain_user()
    # This interpreter may live under root's home, which other users cannot enter; the system's
    # Python of the same version runs the same installed packages (torch, this package).
    python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    assert os.access(python, os.X_OK), f"{python} runs the grader as a plain user"
    folder = Path(tempfile.mkdtemp(prefix="plain-user-"))
    try:
        root = course_copy(folder)
        for path in [folder, *folder.rglob("*")]:
            os.lchown(path, user.pw_uid, user.pw_gid)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8",
               "PYTHONPATH": f"{sysconfig.get_paths()['purelib']}:{REPO}"}
        result = subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                                 *grade_command(root, python)], capture_output=True, text=True, timeout=600, env=env)
        assert result.returncode == 0, result.stderr
        assert scores(root) == SCORES
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: isolation NOT in effect")]
        assert any("a user of its own" in line for line in warnings), result.stderr
        assert any("cgroups" in line for line in warnings), result.stderr
        assert "run the grader as root (sudo; or where user namespaces are allowed)" in result.stderr
        assert all((root / "out" / p).stat().st_uid == user.pw_uid for p in ("grades.csv", "correct/results.json"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Workers that cannot enter their scratch folder (what Docker-style root used to hit): simulated in
# the fork server only, through sitecustomize, which every Python process of the grader runs.
BROKEN_SCRATCH = '''
import os, sys
if "autograder.sandboxed.fork_server" in sys.orig_argv:
    def chdir(path, _chdir=os.chdir):
        if "scratch" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return _chdir(path)
    os.chdir = chdir
'''


@pytest.mark.parametrize("cached_references", [False, True])
def test_workers_that_cannot_run_stop_the_batch_with_exit_3(tmp_path, cached_references):
    root = course_copy(tmp_path)
    if cached_references:  # reference values from an earlier batch: no solution run fails first
        assert subprocess.run(grade_command(root), capture_output=True, timeout=600).returncode == 0
        shutil.rmtree(root / "out")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BROKEN_SCRATCH)
    result = subprocess.run(grade_command(root), capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(site)})
    assert result.returncode == 3, result.stderr
    assert "grader error: workers cannot run here: the worker failed: `PermissionError" in result.stderr
    assert "scratch" in result.stderr
    assert not (root / "out" / "grades.csv").exists()  # no gradebook of zeros


# Docker's default seccomp profile also refuses new namespaces to a process without CAP_SYS_ADMIN,
# user namespaces included: emulated in the fork server (and so its workers) through sitecustomize.
NO_NAMESPACES = '''
import sys
if "autograder.sandboxed.fork_server" in sys.orig_argv:
    import ctypes
    import autograder.libc
    def unshare(flags):
        ctypes.set_errno(1)
        return -1
    autograder.libc.libc.unshare = unshare
'''


def test_docker_style_root_without_namespaces_still_gives_each_worker_its_own_user(tmp_path):
    root = course_copy(tmp_path / "course")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_NAMESPACES)
    command = " ".join(map(str, grade_command(root)))
    result = subprocess.run([*DOCKER_ROOT, "-c", f"PYTHONPATH={site} {command}"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert scores(root) == SCORES
    isolation = next(line for line in result.stderr.splitlines() if line.startswith("isolation: "))
    assert "unprivileged user" in isolation, isolation
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: isolation NOT in effect")]
    assert any("namespaces (unshare: Operation not permitted)" in line for line in warnings), result.stderr
    assert "allow them (docker run --cap-add SYS_ADMIN) or user namespaces" in result.stderr


def test_a_students_check_where_workers_cannot_run_says_so_with_exit_3(tmp_path):
    """`autograder check` in a student's repository: the machine's fault is not a failing check."""
    shutil.copy(REPO / "assignments" / SLUG / f"{SLUG}_checks.json", tmp_path)
    shutil.copy(REPO / "samples" / SLUG / "correct.ipynb", tmp_path / "my_notebook.ipynb")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BROKEN_SCRATCH)
    result = subprocess.run([sys.executable, "-m", "autograder", "check", "my_notebook.ipynb"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(site)})
    assert result.returncode == 3, result.stdout + result.stderr
    assert "grader error: workers cannot run here: " in result.stderr and "PermissionError" in result.stderr
