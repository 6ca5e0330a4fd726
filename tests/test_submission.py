"""Matching a student's cells to the released notebook: by id, else by position and content."""
import nbformat
from conftest import notebook

from autograder.engine.intake import plan_submission, released_cells
from autograder.protocol.jobs import NOT_ANSWERED

RELEASE = notebook(
    ("md", "# Lab"),
    ("code", "import torch\ntorch.manual_seed(123)\nx = torch.ones(3)"),
    ("code", "y = ### your code\nprint(y)"),
    ("code", "print(y.sum())"),
    ("code", "def f(a):\n    return ### your code\n\nprint(f(x))"),
)


def answered(*answers):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(RELEASE), 4))
    nb.cells[2].source, nb.cells[4].source = answers
    return nb


def planned(submission):
    return plan_submission(released_cells(RELEASE), submission)


def test_answers_matched_by_id_protected_cells_as_released():
    plan = planned(answered("y = x * 2\nprint(y)", "def f(a):\n    return a + 1\n\nprint(f(x))"))
    assert plan.matched_by == "id"
    assert [(c.id, c.origin) for c in plan.cells] == [("c1", "protected"), ("c2", "answer"), ("c3", "protected"), ("c4", "answer")]
    assert plan.cells[1].source == "y = x * 2\nprint(y)" and plan.notes == ()


def test_changed_setup_is_restored_and_named():
    nb = answered("y = x * 2\nprint(y)", "def f(a):\n    return a\n\nprint(f(x))")
    nb.cells[1].source = "import torch\ntorch.manual_seed(0)\nx = torch.zeros(3)"
    plan = planned(nb)
    assert plan.cells[0].source == RELEASE.cells[1].source
    assert plan.notes == ("cell `import torch` under “Lab” is part of the setup and was changed in your notebook; "
                          "the released version was run instead",)


def test_untouched_answer_is_not_answered_and_not_run():
    plan = planned(answered("y = ### your code\nprint(y)", "def f(a):\n    return a\n\nprint(f(x))"))
    assert plan.cells[1].skip == NOT_ANSWERED
    assert plan.cells[3].skip is None


def test_cells_without_ids_are_matched_by_content_with_extra_cells_kept_in_place():
    nb = answered("y = x * 2\nprint(y)", "def f(a):\n    return a + 1\n\nprint(f(x))")
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    nb.cells.insert(3, nbformat.v4.new_code_cell("print('my own check')"))
    del nb.cells[3]["id"]
    plan = planned(nb)
    assert plan.matched_by == "content"
    assert [(c.id, c.origin) for c in plan.cells] == [
        ("c1", "protected"), ("c2", "answer"), ("extra-3", "extra"), ("c3", "protected"), ("c4", "answer")]
    assert plan.cells[4].source.startswith("def f(a):\n    return a + 1")
    assert any("1 code cell(s) you added" in note for note in plan.notes)


def test_renumbered_ids_fall_back_to_content():
    nb = answered("y = x * 2\nprint(y)", "def f(a):\n    return a * 3\n\nprint(f(x))")
    for index, cell in enumerate(nb.cells):
        cell.id = f"vscode-{index}"
    plan = planned(nb)
    assert plan.matched_by == "content"
    assert [c.source for c in plan.cells if c.origin == "answer"] == [
        "y = x * 2\nprint(y)", "def f(a):\n    return a * 3\n\nprint(f(x))"]


def test_deleted_answer_cell_is_reported_and_the_rest_still_runs():
    nb = answered("y = x * 2\nprint(y)", "def f(a):\n    return a + 1\n\nprint(f(x))")
    del nb.cells[4]
    plan = planned(nb)
    assert plan.cells[3].skip == NOT_ANSWERED
    assert "cell `def f(a):` under “Lab” of the released notebook was not found in your notebook" in plan.notes
    assert plan.cells[1].source == "y = x * 2\nprint(y)"


def test_empty_notebook_runs_the_release_with_nothing_answered():
    plan = planned(notebook())
    assert [c.origin for c in plan.cells] == ["protected", "answer", "protected", "answer"]
    assert [c.skip for c in plan.cells if c.origin == "answer"] == [NOT_ANSWERED, NOT_ANSWERED]
