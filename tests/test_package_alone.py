"""Students need only the package and the handout: the package's wheel holds no course content (no
assignments, solutions, hidden tests), carries its compiled message catalogs, and `autograder check`
run from that wheel, outside the course repository, checks a handout's notebook."""
import shutil
import subprocess
import sys
import zipfile

from conftest import REPO


def test_the_wheel_installs_alone_and_checks_a_handout(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(REPO / "autograder", source / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "wheel"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "wheel").glob("autograder-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"autograder", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "autograder/locale/ko/LC_MESSAGES/autograder.mo" in names
    assert not [name for name in names if any(part in name for part in ("assignments/", "graders/", "solutions/"))]
    target = tmp_path / "installed"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr

    slug = "lec27_attention"
    handout = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "handout", slug, "--out",
                              str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert handout.returncode == 0, handout.stderr
    zipfile.ZipFile(tmp_path / f"{slug}.zip").extractall(tmp_path / "student")
    folder = tmp_path / "student" / slug
    shutil.copy(REPO / "samples" / slug / "correct.ipynb", folder / f"{slug}.ipynb")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "HOME": str(tmp_path)}
    where = subprocess.run([sys.executable, "-c", "import autograder; print(autograder.__file__)"], cwd=folder, env=env,
                           capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(target / "autograder" / "__init__.py")
    check = subprocess.run([sys.executable, "-m", "autograder", "check", f"{slug}.ipynb"], cwd=folder, env=env,
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("통과") == 14 and "검사" in check.stdout  # every question (README)
