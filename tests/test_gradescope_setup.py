"""The Gradescope export's setup.sh on an image whose python3 is 3.10 (Gradescope's Ubuntu 22.04
images): it finds or installs a Python 3.11 instead of failing in pip, or says which base image to
pick. The image is emulated by a PATH holding only a real Python older than 3.11 and a stand-in for apt-get."""
import functools
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
APT_GET = """#!/bin/bash
echo "apt-get $*" >> "{log}"
if [ "$1" = install ] && [ "{works}" = yes ]; then /bin/ln -sf "{python}" "{bin}/python3.11"; fi
"""


@pytest.fixture(scope="module")
def setup_sh(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "export", "gradescope",
                             "attention_basics", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    home = out / "autograder"
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        archive.extractall(home / "source")
    return home


@functools.cache
def older_python() -> tuple[Path, str]:
    """A real Python older than 3.11, preferably 3.10 as on Gradescope's image, and its `--version`: pyenv's,
    or one on PATH. Debian 12's archive has none, so a machine without one fails here, saying so."""
    minors = range(10, 5, -1)
    found = [PYENV / version / "bin" / f"python3.{minor}" for minor in minors
             for version in sorted(p.name for p in PYENV.glob(f"3.{minor}.*"))]
    found += [Path(path) for minor in minors if (path := shutil.which(f"python3.{minor}"))]
    for python in found:
        try:
            done = subprocess.run([str(python), "--version"], capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if done.returncode == 0:
            return python, done.stdout.strip() or done.stderr.strip()
    pytest.fail("this test needs a Python older than 3.11 to stand for the python3 of Gradescope's Ubuntu 22.04 "
                f"image, and none was found (looked in {PYENV} and on PATH for python3.6 to python3.10): install one, "
                "e.g. `pyenv install 3.10`")


def on_python_310_image(home, tmp_path, apt_works):
    python, _ = older_python()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").symlink_to(python)
    log = tmp_path / "apt.log"
    real_311 = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    (fake / "apt-get").write_text(APT_GET.format(log=log, works="yes" if apt_works else "no", python=real_311, bin=fake))
    (fake / "apt-get").chmod(0o755)
    result = subprocess.run(["/bin/bash", str(home / "source" / "setup.sh"), "--python-only"], capture_output=True,
                            text=True, timeout=120, env={"PATH": str(fake), "AUTOGRADER_HOME": str(home)})
    return result, log.read_text() if log.exists() else ""


def test_a_python_310_image_gets_python_311_from_the_archive(setup_sh, tmp_path):
    result, apt = on_python_310_image(setup_sh, tmp_path, apt_works=True)
    assert result.returncode == 0, result.stderr
    assert f"{older_python()[1]} is older than 3.11; installing python3.11" in result.stdout
    assert "apt-get install -y -qq python3.11 python3.11-venv" in apt
    assert f"using Python {sys.version_info.major}.{sys.version_info.minor}" in result.stdout
    assert str(tmp_path / "bin" / "python3.11") in result.stdout


def test_without_a_python_311_setup_names_the_base_image_to_choose(setup_sh, tmp_path):
    result, apt = on_python_310_image(setup_sh, tmp_path, apt_works=False)
    assert result.returncode == 1 and "apt-get install" in apt
    assert "choose the Ubuntu 22.04 base image" in result.stderr


def test_when_the_grader_cannot_work_students_read_no_log_and_staff_read_it_all(setup_sh, tmp_path):
    """The log of a grader that failed names the course's files and tests: it goes to the script's output
    (the course staff's), while results.json tells the student only to ask the staff."""
    home = tmp_path / "autograder"
    shutil.copytree(setup_sh / "source", home / "source")
    (home / "source" / "solutions" / "attention_basics.ipynb").unlink()  # a course that cannot be graded
    (home / "submission").mkdir()
    shutil.copy(REPO / "samples" / "attention_basics" / "correct.ipynb", home / "submission" / "mine.ipynb")
    env = dict(os.environ, AUTOGRADER_HOME=str(home), AUTOGRADER_PYTHON=sys.executable)
    result = subprocess.run(["bash", str(home / "source" / "run_autograder")], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert "solutions/attention_basics.ipynb: missing" in result.stdout
    results = json.loads((home / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["stdout_visibility"] == "hidden"
    # in the course's language (attention_basics is Korean), like every sentence a student reads
    assert results["output"] == "자동 채점기가 이 제출물을 채점하지 못했습니다. 강의 담당자에게 알려 주세요."
