"""The Gradescope export, run the way Gradescope runs it: unpacked into /autograder/source, the
submission in /autograder/submission, results expected in /autograder/results/results.json."""
import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO

SAMPLES = REPO / "samples" / "lec27_attention"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "export", "gradescope",
                             "lec27_attention", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out / "autograder.zip"


def gradescope_run(zip_path, tmp_path, submission_files):
    home = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(home / "source")
    (home / "submission").mkdir()
    for name, data in submission_files.items():
        (home / "submission" / name).write_bytes(data)
    run = home / "source" / "run_autograder"
    run.chmod(0o755)
    env = dict(os.environ, AUTOGRADER_HOME=str(home), AUTOGRADER_PYTHON=sys.executable)
    result = subprocess.run(["bash", str(run)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads((home / "results" / "results.json").read_text())


def test_zip_has_what_gradescope_needs_and_no_solution_source(exported):
    names = zipfile.ZipFile(exported).namelist()
    assert {"setup.sh", "run_autograder", "autograder/cli.py", "solutions/lec27_attention.ipynb",
            "graders/lec27_attention/probes.py", "assignments/lec27_attention/assignment.yaml"} <= set(names)
    assert "assignments/lec27_attention/source.ipynb" not in names


def test_export_is_reproducible(exported, tmp_path):
    again = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "export", "gradescope",
                            "lec27_attention", "--out", str(tmp_path)], capture_output=True, timeout=120)
    assert again.returncode == 0 and (tmp_path / "autograder.zip").read_bytes() == exported.read_bytes()


@pytest.mark.parametrize("sample, score", [("no_sqrt_scaling", 36.5), ("correct", 44.0)])
def test_run_autograder_writes_the_same_results_as_grade(exported, tmp_path, sample, score):
    results = gradescope_run(exported, tmp_path, {"whatever-students-call-it.ipynb": (SAMPLES / f"{sample}.ipynb").read_bytes()})
    assert results["score"] == score and len(results["tests"]) == 47
    assert {t["visibility"] for t in results["tests"]} == {"visible", "hidden"}


def test_the_export_carries_the_solutions_values_so_no_submission_runs_the_solution(exported, tmp_path):
    carried = sorted(name.rsplit("/", 1)[1] for name in zipfile.ZipFile(exported).namelist()
                     if name.startswith(".cache/references/"))
    assert len(carried) == 2  # on the lesson's data, and on the data the grader varies for the second run
    results = gradescope_run(exported, tmp_path, {"mine.ipynb": (SAMPLES / "correct.ipynb").read_bytes()})
    assert results["score"] == 44.0
    kept = tmp_path / "autograder" / "source" / ".cache" / "references"
    assert sorted(path.name for path in kept.iterdir()) == carried  # found by their names: nothing computed again


def test_a_submission_without_a_notebook_gets_a_clear_zero(exported, tmp_path):
    results = gradescope_run(exported, tmp_path, {"answers.py": b"print(1)\n"})
    assert results["score"] == 0 and results["output"] == ".ipynb 파일이 제출되지 않았습니다. 노트북 파일을 제출하세요."


def test_the_output_students_read_on_gradescope_is_the_feedback(exported, tmp_path):
    results = gradescope_run(exported, tmp_path, {"mine.ipynb": (SAMPLES / "no_sqrt_scaling.ipynb").read_bytes()})
    golden = (REPO / "tests" / "data" / "feedback" / "lec27_attention" / "no_sqrt_scaling.md").read_text(encoding="utf-8")
    assert results["output_format"] == "md"
    assert results["output"] == golden.replace("`no_sqrt_scaling.ipynb`", "`mine.ipynb`")


@pytest.mark.parametrize("names", [("Untitled.ipynb", "correct.ipynb"), ("a.ipynb", "lec27_attention.ipynb")])
def test_of_several_notebooks_the_assignments_is_graded_and_the_choice_is_said(exported, tmp_path, names):
    untitled = json.loads((SAMPLES / "unfinished.ipynb").read_text(encoding="utf-8"))
    untitled["metadata"].pop("autograder", None)  # a notebook of the student's own, not from the release
    correct = json.loads((SAMPLES / "correct.ipynb").read_text(encoding="utf-8"))
    if names[1] == "lec27_attention.ipynb":
        correct["metadata"].pop("autograder", None)  # only its name tells
    results = gradescope_run(exported, tmp_path, {names[0]: json.dumps(untitled).encode(),
                                                   names[1]: json.dumps(correct).encode()})
    assert results["score"] == 44.0
    reason = "메타데이터에 이 과제가 적혀 있음" if names[1] == "correct.ipynb" else "이름이 과제 이름과 같음"
    assert f"노트북 2개가 제출되어 `{names[1]}`을(를) 채점했습니다 ({reason}). `{names[0]}`은(는) 채점하지 않았습니다." \
        in results["output"]
