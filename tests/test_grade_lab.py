"""Grading the lab's bundled samples in one batch through the real command line."""
import json
import subprocess
import sys

import nbformat
import pytest
from conftest import REPO

SAMPLES = REPO / "samples" / "lec27_attention"
QUESTIONS = [f"q{n}" for n in range(1, 15)]
# Each typical mistake loses points in these questions and keeps every other question whole.
MISTAKES = {
    "softmax_wrong_dim": {"q5", "q8", "q14"},
    "no_sqrt_scaling": {"q7", "q8", "q14"},
    "mask_after_softmax": {"q10", "q12"},
    "view_without_transpose": {"q14"},
    "concat_wrong_dim": {"q13"},
}


def grade(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.fixture
def batch(sample_batch):
    graded = sample_batch("lec27_attention")
    return graded.out, graded.rows, graded.stderr


def points(row):
    return {q: float(row[q]) for q in QUESTIONS}


def test_gradebook_has_a_row_per_file_and_the_fixed_columns(batch):
    out, rows, _ = batch
    header = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "submission,score,max_score," + ",".join(QUESTIONS)
    assert set(rows) == {p.name for p in SAMPLES.iterdir()} | {"lec27_attention-blank.ipynb", "context_unanswered.ipynb"}


@pytest.mark.parametrize("name", ["correct.ipynb", "correct_no_cell_ids.ipynb"])
def test_correct_submission_gets_full_marks(batch, name):
    row = batch[1][name]
    assert float(row["score"]) == float(row["max_score"]) == 44


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_loses_only_its_own_questions(batch, mistake):
    full = points(batch[1]["correct.ipynb"])
    got = points(batch[1][f"{mistake}.ipynb"])
    lost = {q for q in QUESTIONS if got[q] < full[q]}
    assert lost == MISTAKES[mistake]


def test_unfinished_notebook_gets_credit_for_what_it_finished(batch):
    got = points(batch[1]["unfinished.ipynb"])
    full = points(batch[1]["correct.ipynb"])
    assert all(got[q] == full[q] for q in QUESTIONS[:7])
    assert all(got[q] == 0 for q in QUESTIONS[7:])


def test_blank_student_notebook_scores_zero(batch):
    assert float(batch[1]["lec27_attention-blank.ipynb"]["score"]) == 0


def test_unreadable_file_gets_a_zero_row_and_a_message(batch):
    out, rows, _ = batch
    assert float(rows["unreadable.ipynb"]["score"]) == 0
    results = json.loads((out / "unreadable" / "results.json").read_text())
    assert results["score"] == 0 and "JSON이 올바르지 않습니다" in results["output"]
    assert "JSON이 올바르지 않습니다" in (out / "unreadable" / "feedback.md").read_text()


def test_results_json_follows_the_gradescope_schema(batch):
    results = json.loads((batch[0] / "no_sqrt_scaling" / "results.json").read_text())
    assert results["score"] == float(batch[1]["no_sqrt_scaling.ipynb"]["score"])
    assert results["max_score"] == 44
    assert {"name", "score", "max_score", "output", "visibility"} <= set(results["tests"][0])
    assert {t["visibility"] for t in results["tests"]} == {"visible", "hidden"}
    assert abs(sum(t["max_score"] for t in results["tests"]) - 44) < 1e-3
    assert abs(sum(t["score"] for t in results["tests"]) - results["score"]) < 1e-3


def test_visible_failures_say_what_differs_and_hidden_ones_reveal_nothing(batch):
    results = json.loads((batch[0] / "no_sqrt_scaling" / "results.json").read_text())
    failed = [t for t in results["tests"] if t["score"] < t["max_score"]]
    visible = [t for t in failed if t["visibility"] == "visible"]
    hidden = [t for t in failed if t["visibility"] == "hidden"]
    assert visible and hidden
    assert any("가장 큰 차이는" in t["output"] and "기대값" in t["output"] for t in visible)
    assert all("기대값" not in t["output"] and not any(ch.isdigit() for ch in t["output"]) for t in hidden)


def test_feedback_names_unanswered_cells(batch):
    feedback = (batch[0] / "unfinished" / "feedback.md").read_text()
    assert "**점수: 16 / 44**" in feedback
    v2 = "“3.4.2 셀프 어텐션 파이썬 클래스 구현하기” 아래의 셀 `class SelfAttention_v2(nn.Module):`"
    assert f"- {v2}: 아직 답하지 않았습니다" in feedback
    # A setup cell that uses what an unanswered cell defines names that cell, without a traceback.
    assert "- “3.5.1 코잘 어텐션 마스크 적용하기” 아래의 셀 `queries = sa_v2.W_query(inputs)`: 실행할 수 없었습니다: " \
           f"`sa_v2`을(를) 정의하는 {v2}에 아직 답하지 않아서 `sa_v2`이(가) 정의되지 않았습니다" in feedback
    assert "NameError" not in feedback


def test_progress_is_one_line_per_submission_when_not_a_terminal(batch):
    lines = [line for line in batch[2].splitlines() if line.startswith("[")]
    assert len(lines) == len(batch[1])


def test_changed_setup_cell_is_named_and_cannot_help(tmp_path):
    nb = nbformat.read(SAMPLES / "correct.ipynb", 4)
    inputs = next(c for c in nb.cells if c.get("id") == "inputs")
    inputs.source = inputs.source.replace("0.43", "9.99")
    nbformat.write(nb, tmp_path / "tampered.ipynb")
    result = grade("grade", "lec27_attention", tmp_path / "tampered.ipynb", "--out", tmp_path / "out")
    assert result.returncode == 0
    assert "tampered.ipynb,44,44" in result.stdout
    assert "아래의 셀 `import torch`은(는) 준비 코드인데 노트북에서 바뀌어 있어" \
        in (tmp_path / "out" / "tampered" / "feedback.md").read_text()


def test_student_check_shows_visible_tests_only(tmp_path):
    result = grade("check", SAMPLES / "no_sqrt_scaling.ipynb")
    assert result.returncode == 1
    assert "가장 큰 차이는" in result.stdout
    assert "숨은 테스트 15개는 제출한 노트북을 채점할 때 실행되며" in result.stdout
    assert "숨은 테스트" not in result.stdout.split("숨은 테스트 15개는")[0]
    ok = grade("check", SAMPLES / "correct.ipynb")
    assert ok.returncode == 0 and ", 실패 0개" in ok.stdout


def test_a_batch_keeps_only_each_submissions_scores_once_its_files_are_written(tmp_path, monkeypatch):
    """Also: each submission's feedback is made once (feedback.md, results.json's output and record.json's
    body were three makings of the same text), and the three still agree."""
    from autograder import batch
    from autograder.batch import grade_batch
    from autograder.outputs import results
    from autograder.scoring.grader import load_assignment

    made, make = [], results.feedback_body

    def counted(report):
        made.append(report.stem)
        return make(report)

    monkeypatch.setattr(results, "feedback_body", counted)
    monkeypatch.setattr(batch, "feedback_body", counted)
    whole = {}
    rows = grade_batch(load_assignment(REPO, "lec27_attention"), [SAMPLES / "correct.ipynb", SAMPLES / "unfinished.ipynb"],
                       tmp_path, 2, REPO / ".cache" / "references", lambda report, reused: whole.update({report.stem: report}))
    assert {row.stem: row.score for row in rows} == {stem: report.score for stem, report in whole.items()} \
        == {"correct": 44.0, "unfinished": 16.0}
    assert all(report.cells for report in whole.values())  # the files were written from whole reports
    assert all(not row.cells and not row.notes and not any(q.outcomes for q in row.questions) for row in rows)
    assert "correct.ipynb,44,44," in (tmp_path / "grades.csv").read_text()
    assert sorted(made) == ["correct", "unfinished"]
    for stem in made:
        feedback = (tmp_path / stem / "feedback.md").read_text(encoding="utf-8")
        assert json.loads((tmp_path / stem / "results.json").read_text(encoding="utf-8"))["output"] == feedback
        body = json.loads((tmp_path / stem / "record.json").read_text(encoding="utf-8"))["feedback_body"]
        assert body and body in feedback
