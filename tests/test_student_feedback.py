"""What students read about the bundled samples of the five Korean assignments, through the real
command line: each typical mistake is named on a visible test, an answer cell left as released is
"not answered" even when an earlier cell defined its name, nothing a hidden test computes or calls
internally reaches a student, and the Korean feedback equals its reviewed golden file."""
import json
import os
import re
import subprocess
import sys
from dataclasses import replace

import nbformat
import pytest
from conftest import REPO

SLUGS = ("lec27_attention", "attention_basics", "transformer_encoder", "gpt_model", "gpt_training")
GOLDEN = REPO / "tests" / "data" / "feedback"
CAUSE = "가장 가능성 높은 원인: "
# Each mistake sample, and the cause named on a visible test.
DIAGNOSED = {
    ("lec27_attention", "softmax_wrong_dim"): "softmax를 dim=0으로 계산 — 각 열의 합이 1",
    ("lec27_attention", "no_sqrt_scaling"): "소프트맥스 전에 점수를 √d_k로 나누지 않음",
    ("lec27_attention", "mask_after_softmax"): "마스크를 씌운 가중치를 다시 정규화하지 않음 — 각 행의 합이 1보다 작음",
    ("lec27_attention", "view_without_transpose"): "view로 헤드를 나눈 뒤 transpose(1, 2)를 하지 않음",
    ("lec27_attention", "concat_wrong_dim"): "dim 2 대신 dim 1을 따라 이어 붙임",
    ("attention_basics", "wrong_mask_direction"): "마스크 방향이 반대 — 각 위치가 과거 대신 미래를 봄",
    ("attention_basics", "scale_by_d_k"): "점수를 √d_k가 아니라 d_k로 나눔",
    ("transformer_encoder", "layernorm_before_residual"): "서브층 앞에서 LayerNorm을 적용함 (pre-norm)",
    ("transformer_encoder", "no_residual"): "잔차 연결이 없음 — LayerNorm 전에 x를 다시 더하지 않음",
    ("gpt_model", "layernorm_unbiased"): "분산을 n-1로 나눔 (unbiased)",
    ("gpt_model", "block_without_shortcut"): "숏컷 연결이 없음",
    ("gpt_model", "generate_whole_history"): "idx 전체를 모델에 넣음",
    ("gpt_training", "targets_not_shifted"): "정답을 한 칸 밀지 않음",
    ("gpt_training", "no_zero_grad"): "optimizer.zero_grad()를 부르지 않음",
}


def autograder(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)


@pytest.fixture
def graded(sample_batch):
    """slug -> the folder of its samples' results (the lab's also has context_unanswered.ipynb)."""
    return {slug: sample_batch(slug).out for slug in SLUGS}


def student_texts(folder):
    """Everything a student reads of one result: feedback.md, results.json, the graded notebook's notes."""
    notebook = json.loads((folder / "graded.ipynb").read_text(encoding="utf-8"))
    notes = [cell["source"] for cell in notebook["cells"] if cell["cell_type"] == "markdown"]
    return [(folder / "feedback.md").read_text(encoding="utf-8"), (folder / "results.json").read_text(encoding="utf-8"),
            *notes]


@pytest.mark.parametrize("slug, sample", sorted(DIAGNOSED))
def test_each_mistake_sample_is_named_on_a_visible_test(graded, slug, sample):
    results = json.loads((graded[slug] / sample / "results.json").read_text(encoding="utf-8"))
    named = [t["output"] for t in results["tests"] if CAUSE in t["output"]]
    assert named and all(t["visibility"] == "visible" for t in results["tests"] if CAUSE in t["output"])
    assert any(DIAGNOSED[slug, sample] in output for output in named), named
    hidden = [t["output"] for t in results["tests"] if t["visibility"] == "hidden" and t["score"] < t["max_score"]]
    assert hidden and not any(CAUSE in output for output in hidden)


def test_gradients_never_cleared_are_named_only_where_the_loop_never_clears_them(graded):
    """The cause comes from evidence (the loop's runs on the grader's data), not from wrong losses alone:
    the samples whose losses are wrong for another reason do not get it."""
    named = {folder.name for folder in graded["gpt_training"].iterdir() if (folder / "feedback.md").is_file()
             and "zero_grad()를 부르지 않음" in (folder / "feedback.md").read_text(encoding="utf-8")}
    assert named == {"no_zero_grad"}


def test_a_correct_notebook_gets_no_diagnosis(graded):
    for slug in SLUGS:
        assert CAUSE not in (graded[slug] / "correct" / "feedback.md").read_text(encoding="utf-8")


def test_an_unanswered_cell_is_not_answered_even_if_its_name_exists(graded):
    feedback = (graded["lec27_attention"] / "context_unanswered" / "feedback.md").read_text(encoding="utf-8")
    line = next(line for line in feedback.splitlines() if "`context_vec_2`" in line or "context_vec_2:" in line)
    assert "아직 답하지 않았습니다" in line and "모양" not in line
    assert "**점수: 43.25 / 44**" in feedback


def hidden_secrets(slug):
    """Internal probe names, and the numbers only hidden tests compute from (as a message would print them)."""
    from autograder.scoring.grader import Grader, load_assignment
    from autograder.scoring.references import validate_suite_on_solution
    from autograder.testing import RecordingRun

    assignment = load_assignment(REPO, slug)
    grader = Grader(assignment, assignment.layout.cache)
    try:
        reads = validate_suite_on_solution(assignment.suite, grader.reference)
        hidden_reads, visible_reads = set(), set()
        for test in assignment.suite.tests:
            (visible_reads if test.visibility == "visible" else hidden_reads).update(reads[test.function_name])
        names = {name for name in grader.reference.names if ":" not in name}

        def numbers(probes):
            run = RecordingRun(grader.reference)
            return {f"{value:.4f}" for name in probes for value in _floats(run[name]) if abs(value) >= 0.001}
        return names, numbers(hidden_reads - visible_reads) - numbers(visible_reads)
    finally:
        grader.close()


def _floats(value):
    import torch

    if isinstance(value, torch.Tensor):
        return [float(x) for x in value.double().reshape(-1).tolist() if x == x and abs(x) != float("inf")]
    if isinstance(value, dict):
        return [x for item in value.values() for x in _floats(item)]
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _floats(item)]
    return [float(value)] if isinstance(value, float) else []


@pytest.mark.parametrize("slug", SLUGS)
def test_no_hidden_value_or_internal_name_reaches_a_student(graded, slug, tmp_path):
    names, values = hidden_secrets(slug)
    assert names and values
    texts = [text for folder in graded[slug].iterdir() if (folder / "feedback.md").is_file()
             for text in student_texts(folder)]
    for sample in ("unfinished", next(s for (g, s) in DIAGNOSED if g == slug)):
        check = autograder("check", REPO / "samples" / slug / f"{sample}.ipynb")
        assert check.returncode == 1, check.stderr
        texts.append(check.stdout)
    for text in texts:
        shown = set(re.findall(r"-?\d+\.\d{4}", text))
        assert not shown & values, f"{slug}: hidden values shown: {sorted(shown & values)[:5]}"
        words = set(re.findall(r"\w+", text))
        assert not words & names, f"{slug}: internal probe names shown: {sorted(words & names)}"


@pytest.mark.parametrize("slug", SLUGS)
def test_the_korean_feedback_equals_its_reviewed_golden_file(graded, slug):
    samples = {path.stem for path in (REPO / "samples" / slug).glob("*.ipynb")}
    for folder in sorted(graded[slug].iterdir()):
        if not (folder / "feedback.md").is_file() or folder.name not in samples:
            continue
        got = (folder / "feedback.md").read_text(encoding="utf-8")
        golden = GOLDEN / slug / f"{folder.name}.md"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(got, encoding="utf-8")
        assert got == golden.read_text(encoding="utf-8"), f"{golden} differs (UPDATE_GOLDEN=1 rewrites it; read the diff)"


HOSTILE = "<img src=x onerror=alert(1)> [see](http://127.0.0.1:9/x) ``` <b>"


def rendered(markdown: str) -> str:
    """The Markdown as HTML, the way Gradescope and Jupyter show it."""
    import mistune
    return mistune.html(markdown)


def test_what_a_student_wrote_shows_as_text_in_the_feedback(tmp_path):
    from autograder.choice import choose_notebook
    from autograder.config import AssignmentConfig
    from autograder.outputs.results import feedback_markdown, graded_notebook
    from autograder.protocol.jobs import ERROR
    from autograder.protocol.messages import CellResult
    from autograder.scoring.points import GradeReport, QuestionScore
    from autograder.scoring.suite import VISIBLE, SuiteTest, TestOutcome
    from autograder.testing import expect_match

    error = {"ename": "<b>Bad</b>", "evalue": HOSTILE, "traceback": f"Traceback (most recent call last)\nBad: message\n```\n{HOSTILE}"}
    cell = CellResult(0, "c1", ERROR, label="cell `x = 1`", source="x = 1", error=error)
    with pytest.raises(AssertionError) as failure:
        expect_match(HOSTILE, "the expected text", "decoded")
    test = SuiteTest("decodes", "test_decodes", "q1", VISIBLE, 1.0, lambda: None)
    question = QuestionScore("q1", "Q1", 0.0, 1.0, (TestOutcome(test, False, str(failure.value)),))
    named = "<img src=x onerror=alert(1)> `` <b>.ipynb"  # a file name can hold all but the link's slashes
    for name in ("a.ipynb", named):
        nbformat.write(nbformat.v4.new_notebook(), str(tmp_path / name))
    _chosen, note = choose_notebook([tmp_path / "a.ipynb", tmp_path / named], "lec27_attention", set())
    report = GradeReport("`<img src=x onerror=alert(1)>`.ipynb", "n", (question,), (cell,), notes=(note,))
    feedback = feedback_markdown(report, AssignmentConfig(title="T", language="ko"))
    notebook = json.loads(graded_notebook(report, feedback, {"test_decodes": "c1"}))
    shown = [rendered(feedback.decode())] + [rendered(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"]
    for html in shown:
        assert "<img" not in html and "<a " not in html and "<b>" not in html, html
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown[0]


def test_a_magic_or_shell_line_shows_as_text_in_the_feedback():
    from autograder.config import AssignmentConfig
    from autograder.outputs.results import feedback_markdown
    from autograder.protocol import messages
    from autograder.protocol.jobs import OK
    from autograder.sandboxed.ipython_shim import Shell, to_python
    from autograder.scoring.points import GradeReport
    from autograder.wording import worker_note

    shell = Shell()  # what a worker does with these lines of a cell
    exec(to_python("%timeit <img src=x onerror=alert(1)>\n!echo <b>[see](http://127.0.0.1:9/x)</b>\n"),
         {"get_ipython": lambda: shell})
    assert len(shell.notes) == 2
    sent = messages.cell(0, "c1", OK, notes=shell.notes)  # as the worker sends them; the grader words them
    cell = replace(messages.parse_cell(sent, lambda kind, args: worker_note(kind, args, 60)), label="cell `x`")
    html = rendered(feedback_markdown(GradeReport("n.ipynb", "n", (), (cell,)), AssignmentConfig(title="T")).decode())
    assert "<img" not in html and "<b>" not in html and "<a " not in html, html
    assert "%timeit &lt;img src=x onerror=alert(1)&gt;" in html
