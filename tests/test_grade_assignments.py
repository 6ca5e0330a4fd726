"""The course's other assignments: solution full, blank zero, each typical mistake costs only its
own questions, and the notebooks' own checks against PyTorch all print True."""
import nbformat
import pytest
from conftest import REPO

EXPECTED = {
    "attention_basics": {
        "questions": [f"b{n}" for n in range(1, 10)],
        "lost": {"wrong_mask_direction": {"b2", "b3"}, "scale_by_d_k": {"b8", "b9"}},
        "unfinished_answers": {"b1", "b2", "b3", "b4", "b5"},
    },
    "transformer_encoder": {
        "questions": [f"e{n}" for n in range(1, 7)],
        "lost": {"layernorm_before_residual": {"e5"}, "no_residual": {"e5"}},
        "unfinished_answers": {"e1", "e2", "e3"},
    },
    "gpt_model": {
        "questions": [f"g{n}" for n in range(1, 9)],
        "lost": {"layernorm_unbiased": {"g2"}, "block_without_shortcut": {"g6"}, "generate_whole_history": {"g8"}},
        "unfinished_answers": {"g1", "g2", "g3"},
    },
}


@pytest.fixture(params=sorted(EXPECTED))
def graded(request, sample_batch):
    slug = request.param
    return slug, sample_batch(slug).rows


def scores(row, questions):
    return {q: float(row[q]) for q in questions}


def test_solution_scores_full_and_blank_scores_zero(graded):
    slug, rows = graded
    assert float(rows["correct.ipynb"]["score"]) == float(rows["correct.ipynb"]["max_score"]) > 0
    assert float(rows[f"{slug}-blank.ipynb"]["score"]) == 0


def test_each_mistake_loses_only_its_own_questions(graded):
    slug, rows = graded
    questions = EXPECTED[slug]["questions"]
    full = scores(rows["correct.ipynb"], questions)
    for mistake, lost in EXPECTED[slug]["lost"].items():
        got = scores(rows[f"{mistake}.ipynb"], questions)
        assert {q for q in questions if got[q] < full[q]} == lost, mistake
        assert all(got[q] == 0 for q in lost), f"{mistake}: the broken part earns nothing"


def test_unfinished_gets_credit_for_what_it_answered(graded):
    slug, rows = graded
    questions = EXPECTED[slug]["questions"]
    full = scores(rows["correct.ipynb"], questions)
    got = scores(rows["unfinished.ipynb"], questions)
    answered = EXPECTED[slug]["unfinished_answers"]
    assert {q for q in questions if got[q] == full[q]} == answered
    assert all(got[q] == 0 for q in questions if q not in answered)


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_the_solution_notebooks_own_checks_all_pass(slug):
    """Every comparison the lesson prints (against PyTorch or the loop version) says True."""
    nb = nbformat.read(REPO / "solutions" / f"{slug}.ipynb", 4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "True" in printed and "False" not in printed
    assert not any(o.get("name") == "stderr" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_student_notebook_shows_outputs_and_hides_solutions(slug):
    student = nbformat.read(REPO / "assignments" / slug / f"{slug}.ipynb", 4)
    source = (REPO / "assignments" / slug / "source.ipynb").read_text(encoding="utf-8")
    code = [c for c in student.cells if c.cell_type == "code"]
    assert sum(c.source.count("### your code") for c in code) >= 10
    assert all("# SOLUTION" not in c.source and "BEGIN SOLUTION" not in c.source for c in code)
    assert any(c.outputs for c in code) and "# SOLUTION" in source


def test_hidden_tests_hold_when_submissions_are_graded_in_parallel_threads():
    """Some tests seed torch and build PyTorch modules as oracles; two threads must not mix them."""
    import threading

    from autograder.scoring.grader import Grader, load_assignment
    from autograder.scoring.suite import run_test

    grader = Grader(load_assignment(REPO, "transformer_encoder"), REPO / ".cache" / "references")
    failed = []

    def grade_the_solution_repeatedly():
        for _ in range(25):
            for test in grader.assignment.suite.tests:
                if not run_test(test, grader.reference, grader.reference, grader.assignment.suite.inputs.given).passed:
                    failed.append(test.function_name)

    try:
        threads = [threading.Thread(target=grade_the_solution_repeatedly) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        grader.close()
    assert failed == []
