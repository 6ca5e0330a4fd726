"""What a student reads about how their cells ran: an error that only follows from an earlier cell
names that cell instead of showing a traceback."""
import json
from dataclasses import replace

import pytest

from autograder.config import AssignmentConfig
from autograder.outputs.results import feedback_markdown, graded_notebook
from autograder.protocol.jobs import ERROR, NOT_ANSWERED, OK
from autograder.protocol.messages import CellResult
from autograder.scoring.points import GradeReport
from autograder.wording import cell_note, cell_title


def cell(number, source, status=OK, ename=None, evalue=""):
    error = {"ename": ename, "evalue": evalue, "traceback": f"Traceback:\n  File \"<code cell {number}>\"\n{ename}: {evalue}"} \
        if ename else None
    return CellResult(number - 1, f"c{number}", status, error=error, label=f"code cell {number}", source=source)


def name_error(number, name, source):
    return cell(number, source, ERROR, "NameError", f"name '{name}' is not defined")


def notes(*cells):
    return [cell_note(c, cells[:i]) for i, c in enumerate(cells)]


def test_a_name_an_unanswered_cell_was_to_define_names_that_cell():
    got = notes(cell(1, "import torch"), cell(2, "sa = ### your code\nprint(sa)", NOT_ANSWERED),
                name_error(3, "sa", "print(sa.W_query)"))
    assert got[2] == "could not run: `sa` is not defined because code cell 2, which defines it, is not answered yet"


@pytest.mark.parametrize("definition", ["masked, other = f()", "def masked(x):\n    pass", "class masked:\n    pass",
                                        "import numpy as masked", "for masked in range(3):\n    pass",
                                        "x = 1\n    masked = ### your code"])
def test_every_way_of_defining_a_name_is_recognised(definition):
    got = notes(cell(1, definition, ERROR, "ValueError", "bad"), name_error(2, "masked", "print(masked)"))
    assert got[1] == "could not run: `masked` is not defined because code cell 1, which defines it, raised ValueError"


@pytest.mark.parametrize("earlier", [
    cell(1, "x = 1"),  # nothing defines it: a typo
    cell(1, "masked = 1\ndel masked"),  # defined by a cell that ran: the error is this cell's own
    cell(1, "masked_more = ### your code", NOT_ANSWERED),  # a longer name is another name
    cell(1, "if masked == 2:\n    pass", NOT_ANSWERED),  # a comparison is no definition
])
def test_an_error_of_its_own_keeps_its_message(earlier):
    assert notes(earlier, name_error(2, "masked", "print(masked)"))[1] == "raised NameError: `name 'masked' is not defined`"


def test_the_feedback_and_graded_notebook_name_the_cause_without_a_traceback():
    cells = (cell(1, "sa = ### your code", NOT_ANSWERED), name_error(2, "sa", "print(sa)"),
             name_error(3, "typo", "print(typo)"))
    report = GradeReport("n.ipynb", "n", (), cells)
    feedback = feedback_markdown(report, AssignmentConfig(title="T")).decode()
    assert "- code cell 2: could not run: `sa` is not defined because code cell 1, which defines it, is not answered yet" \
        in feedback
    assert "NameError: name 'sa'" not in feedback  # no traceback for it
    assert "- code cell 3: raised NameError: `name 'typo' is not defined`" in feedback
    assert feedback.count("```") == 2  # the typo's traceback only
    notebook = graded_notebook(report, feedback.encode(), {}).decode()
    assert "**code cell 2:** could not run: `sa` is not defined because code cell 1" in notebook


def rendered_html(markdown: str) -> str:
    """The Markdown as Gradescope and Jupyter render it (CommonMark, raw HTML allowed)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(markdown)


def titled(number, source, heading="Lab", **error):
    return replace(cell(number, source, **error), label=cell_title(heading, source), file=f"<code cell {number}>")


def raising(cell_, traceback: str):
    """`cell_` (an error) with the traceback the worker reported."""
    return replace(cell_, error=dict(cell_.error, traceback=traceback))


def shown(*cells) -> tuple[str, str]:
    """feedback.md for these cells, and the graded notebook's first error traceback, lines joined."""
    report = GradeReport("n.ipynb", "n", (), cells)
    feedback = feedback_markdown(report, AssignmentConfig(title="T")).decode()
    notebook = json.loads(graded_notebook(report, feedback.encode(), {}))
    errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    return feedback, "\n".join(errors[0]["traceback"]) if errors else ""


def test_a_traceback_names_its_cells_as_the_feedback_does():
    boom = titled(1, "def boom():\n    raise ValueError('no')")
    call = raising(titled(2, "boom()", status=ERROR, ename="ValueError", evalue="no"),
                   'Traceback (most recent call last):\n  File "<code cell 2>", line 1, in <module>\n    boom()\n'
                   '  File "<code cell 1>", line 2, in boom\n    raise ValueError(\'no\')\nValueError: no')
    feedback, traceback = shown(boom, call)
    assert 'File "cell \'boom()\' under “Lab”", line 1, in <module>' in feedback
    assert 'File "cell \'def boom():\' under “Lab”", line 2, in boom' in feedback
    assert "<code cell" not in feedback
    assert '\n  File "cell \'def boom():\' under “Lab”", line 2, in boom' in traceback


def test_library_frames_are_named_from_their_package_not_from_where_the_grader_installed_them():
    call = raising(titled(1, "loss(x)", status=ERROR, ename="RuntimeError", evalue="bad target"),
                   'Traceback (most recent call last):\n  File "<code cell 1>", line 1, in <module>\n'
                   '  File "/opt/grader/.venv/lib/python3.11/site-packages/torch/nn/functional.py", line 3555, in cross_entropy\n'
                   '  File "/usr/lib/python3/dist-packages/numpy/core/fromnumeric.py", line 59, in _wrapfunc\n'
                   '  File "/root/.pyenv/versions/3.11.7/lib/python3.11/json/encoder.py", line 200, in encode\n'
                   'RuntimeError: bad target')
    for text in shown(call):
        assert 'File "torch/nn/functional.py", line 3555, in cross_entropy' in text
        assert 'File "numpy/core/fromnumeric.py", line 59' in text
        assert 'File "json/encoder.py", line 200, in encode' in text
        assert "/opt/grader" not in text and "/root/" not in text and "-packages" not in text


def test_a_fake_cell_name_in_a_traceback_cannot_break_out_of_its_fence():
    # The student's own cell, first line and heading chosen to carry markup, and a traceback that
    # prints a fake file name, a fence closer and a heading of its own.
    evil = "# ```` <img src=x onerror=alert(1)> [link](http://evil.example)"
    mine = titled(1, evil + "\nx = 1", heading="Pwned <img src=x onerror=alert(2)> ````")
    failing = raising(titled(2, "boom()", status=ERROR, ename="RuntimeError", evalue="x"),
                      'Traceback (most recent call last):\n  File "<code cell 2>", line 1, in <module>\n'
                      'RuntimeError: see\n  File "<code cell 1>", line 1\n````\n# Pwned\n<img src=x onerror=alert(3)>\n```')
    feedback, _ = shown(mine, failing)
    assert "<code cell" not in feedback
    html = rendered_html(feedback)
    assert "<img" not in html and "<a " not in html and "Pwned</h" not in html
    assert "&lt;img src=x onerror=alert(3)&gt;" in html  # shown, as text


def test_a_syntax_errors_message_names_its_cell_as_the_feedback_does():
    broken = titled(1, "x = (", status=ERROR, ename="SyntaxError", evalue="'(' was never closed (<code cell 1>, line 1)")
    assert cell_note(broken) == "raised SyntaxError: `'(' was never closed (cell 'x = (' under “Lab”, line 1)`"
    notebook = json.loads(graded_notebook(GradeReport("n.ipynb", "n", (), (broken,)), b"", {}))
    error = next(o for c in notebook["cells"] for o in c.get("outputs", []) if o["output_type"] == "error")
    assert error["evalue"] == "'(' was never closed (cell 'x = (' under “Lab”, line 1)"
