"""The gpt_training homework: its samples graded (each mistake costs its own questions, the written
parts wait for a TA), the TA's part shows the grader's own loss plot, and the TA's points complete
the gradebook."""
import csv
import json
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

SLUG = "gpt_training"
AUTOMATIC = ["t1", "t2", "t3", "t4"]
def autograder(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def book(folder):
    with (folder / "grades.csv").open(encoding="utf-8", newline="") as handle:
        return {r["submission"]: r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(sample_batch, tmp_path_factory):
    """The samples, the blank notebook and the stubs (conftest.GPT_TRAINING_STUBS) as graded in the session's
    batch, copied: the TA's import below writes into the folder."""
    out = tmp_path_factory.mktemp(SLUG) / "graded"
    shutil.copytree(sample_batch(SLUG).out, out)
    return out


def test_samples_lose_the_questions_of_their_mistakes_and_wait_for_a_ta(graded):
    rows = book(graded)
    points = {name: [row[q] for q in AUTOMATIC] for name, row in rows.items()}
    assert points["correct.ipynb"] == ["3", "3", "4", "2"]
    # The loop is wrong, and so is the curve of its losses: the plot is compared with the solution's run.
    assert points["no_zero_grad.ipynb"] == ["3", "3", "0", "0"]
    assert points["unfinished.ipynb"] == ["3", "3", "0", "0"]
    assert points[f"{SLUG}-blank.ipynb"] == ["0", "0", "0", "0"]
    assert points["stubs.ipynb"] == ["0", "0", "0", "0"], "code that computes nothing earns nothing"
    # Unshifted targets: the pairs, and the notebook's own loss values built on them; the loss function
    # and the loop, checked on the grader's inputs, still earn their hidden tests' points.
    assert points["targets_not_shifted.ipynb"][0] == "0" and 0 < float(points["targets_not_shifted.ipynb"][2]) < 4
    assert points["loss_without_flatten.ipynb"][1] == "0" and points["loss_without_flatten.ipynb"][0] == "3"
    assert all(row["w1"] == row["w2"] == "pending" for row in rows.values())
    assert rows["correct.ipynb"]["score"] == "12" and rows["correct.ipynb"]["max_score"] == "20"


def test_the_ta_sees_the_graders_loss_plot_and_the_written_answer(graded):
    answers = json.loads((graded / "correct" / "answers.json").read_text())
    plot, written = answers["w1"]["cells"]
    assert plot["id"] == "loss-plot" and plot["graded_run"]
    assert [o["type"] for o in plot["outputs"]] == ["image"] and plot["outputs"][0]["data"].startswith("iVBOR")
    assert written["type"] == "markdown" and "ln(126)" in written["source"] and written["answered"]
    train, analysis = answers["w2"]["cells"]
    assert train["id"] == "train-run"
    assert "생성:" in train["outputs"][0]["text"] and "검증 데이터" in analysis["source"]
    unanswered = json.loads((graded / "unfinished" / "answers.json").read_text())["w2"]["cells"][1]
    assert not unanswered["answered"] and "[ 여기에 답을 쓰세요 ]" in unanswered["source"]


def test_the_tas_points_complete_the_gradebook(graded, tmp_path):
    sheet = tmp_path / "scores.csv"
    sheet.write_text("submission,question,points,comment\ncorrect.ipynb,w1,4,\ncorrect.ipynb,w2,3.5,검증 손실 이야기가 빠졌어요\n",
                     encoding="utf-8")
    result = autograder("review", graded, "--import", sheet, "--grader", "조교")
    assert result.returncode == 0, result.stderr
    row = book(graded)["correct.ipynb"]
    assert (row["score"], row["w1"], row["w2"]) == ("19.5", "4", "3.5")
    feedback = (graded / "correct" / "feedback.md").read_text()
    assert "19.5 / 20" in feedback and "검증 손실 이야기가 빠졌어요" in feedback
