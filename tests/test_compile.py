"""Whole-notebook compilation: cells, ids, markdown, errors naming file, cell and line."""
import nbformat
import pytest
from conftest import notebook

from autograder.authoring.compile import compile_notebook, serialize
from autograder.errors import MarkerError


def test_both_versions_keep_order_ids_and_markdown():
    source = notebook(
        ("md", "# Title\n\nSome **text** with `code`."),
        ("code", "import math"),
        ("code", "r = math.sqrt(2)  # SOLUTION\nprint(r)"),
        ("md", "Done."),
    )
    compiled = compile_notebook(source, "source.ipynb")
    assert [c.id for c in compiled.student.cells] == ["c0", "c1", "c2", "c3"]
    assert [c.id for c in compiled.solution.cells] == ["c0", "c1", "c2", "c3"]
    assert compiled.student.cells[0].source == source.cells[0].source
    assert compiled.student.cells[2].source == "r = ### your code\nprint(r)"
    assert compiled.solution.cells[2].source == "r = math.sqrt(2)\nprint(r)"
    for nb in (compiled.student, compiled.solution):
        nbformat.validate(nb)


def test_cells_for_one_version_only():
    source = notebook(
        ("md", "<!-- SOLUTION ONLY -->\nInstructor note: students often forget the scaling."),
        ("code", "# SOLUTION ONLY\nassert round(r, 3) == 1.414"),
        ("code", "# STUDENT ONLY\nprint('write your answer above')"),
        ("md", "<!-- STUDENT ONLY -->\nGood luck!"),
    )
    compiled = compile_notebook(source, "source.ipynb")
    assert [c.id for c in compiled.student.cells] == ["c2", "c3"]
    assert [c.id for c in compiled.solution.cells] == ["c0", "c1"]
    assert compiled.solution.cells[0].source == "Instructor note: students often forget the scaling."
    assert compiled.student.cells[1].source == "Good luck!"


def test_outputs_and_counts_of_the_source_are_not_carried_over():
    source = notebook(("code", "x = 1  # SOLUTION\nx"))
    source.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=3)]
    source.cells[0].execution_count = 3
    compiled = compile_notebook(source, "source.ipynb")
    for nb in (compiled.student, compiled.solution):
        assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None


@pytest.mark.parametrize("text", ["x = 1  # SOLUTION", "### BEGIN SOLUTION", "q = ### your code", "# SOLUTION ONLY"])
def test_marker_in_markdown_is_an_error_naming_the_cell(text):
    source = notebook(("code", "x = 1"), ("md", f"Some words\n{text}"))
    with pytest.raises(MarkerError) as caught:
        compile_notebook(source, "course/source.ipynb")
    assert str(caught.value).startswith("course/source.ipynb: cell 1 (id c1): line 2: solution marker")


def test_markdown_may_name_the_placeholder_as_inline_code():
    source = notebook(("md", "Fill in every `### your code` below."))
    assert compile_notebook(source, "s.ipynb").student.cells[0].source == source.cells[0].source


def test_markdown_heading_named_solution_is_fine():
    source = notebook(("md", "# SOLUTION\n\nThe heading is only a heading."))
    assert compile_notebook(source, "s.ipynb").student.cells[0].source == source.cells[0].source


def test_code_marker_error_names_file_cell_id_and_line():
    source = notebook(("code", "x = 1"), ("code", "a = 1\nb = 2\n### BEGIN SOLUTION\nc = 3"))
    with pytest.raises(MarkerError) as caught:
        compile_notebook(source, "assignments/demo/source.ipynb")
    assert str(caught.value) == ("assignments/demo/source.ipynb: cell 1 (id c1): line 3: "
                                 "'### BEGIN SOLUTION' is never closed; add '### END SOLUTION' after the solution")


def test_duplicated_cell_ids_are_an_error():
    source = notebook(("code", "x = 1"), ("code", "y = 2"))
    source.cells[1].id = "c0"
    with pytest.raises(MarkerError, match="cell 1 .*also used by cell 0"):
        compile_notebook(source, "s.ipynb")


def test_notebook_without_ids_gets_ids_from_positions_every_time():
    source = notebook(("code", "x = 1  # SOLUTION"), ("md", "text"))
    source.nbformat_minor = 4
    for cell in source.cells:
        del cell["id"]
    first = compile_notebook(source, "s.ipynb")
    second = compile_notebook(source, "s.ipynb")
    assert [c.id for c in first.student.cells] == ["cell-0", "cell-1"]
    assert serialize(first.student) == serialize(second.student)


def test_serialize_is_deterministic_and_ends_with_a_newline():
    source = notebook(("md", "한국어 텍스트"), ("code", "x = {'b': 1, 'a': 2}  # SOLUTION"))
    data = serialize(compile_notebook(source, "s.ipynb").student)
    assert data == serialize(compile_notebook(source, "s.ipynb").student)
    assert data.endswith(b"\n") and "한국어 텍스트".encode() in data
