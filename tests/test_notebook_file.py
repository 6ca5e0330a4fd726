"""Reading notebook files: each way a file can be broken gives one clear error naming it."""
import json
from pathlib import Path

import nbformat
import pytest
from conftest import notebook

from autograder.errors import NotebookReadError
from autograder.notebooks import read_notebook, read_submission


def test_reads_a_valid_notebook(tmp_path):
    path = tmp_path / "ok.ipynb"
    nbformat.write(notebook(("code", "x = 1")), path)
    assert read_notebook(path).cells[0].source == "x = 1"


@pytest.mark.parametrize("reader", [read_notebook, read_submission])
def test_upgrades_nbformat_3(tmp_path, reader):
    path = tmp_path / "old.ipynb"
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [], "metadata": {}}]}]}
    path.write_text(json.dumps(v3))
    assert reader(path).cells[0].source == "x = 1"


@pytest.mark.parametrize("content, words", [
    (b'{"cells": [', "invalid JSON"),
    (b"", "empty"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'[1, 2, 3]', "not a Jupyter notebook"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}', "not a valid notebook"),
    (b'{"nbformat": 2, "cells": []}', "too old"),
], ids=["truncated", "empty", "binary", "json-list", "invalid-cell", "ancient"])
@pytest.mark.parametrize("reader", [read_notebook, read_submission])
def test_broken_files_name_the_file_and_the_problem(tmp_path, content, words, reader):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotebookReadError) as caught:
        reader(path)
    assert str(path) in str(caught.value) and words in str(caught.value)


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{\n "cells": [],\n "nbformat": 4,,\n}')
    with pytest.raises(NotebookReadError) as caught:
        read_notebook(path)
    assert caught.value.location.line == 3


def test_missing_file(tmp_path):
    with pytest.raises(NotebookReadError, match="not found"):
        read_notebook(tmp_path / "nope.ipynb")


def test_a_submission_reads_as_the_same_cells_as_the_full_reader():
    for path in sorted(Path(__file__).resolve().parent.parent.glob("samples/*/*.ipynb")):
        try:
            full = read_notebook(path)
        except NotebookReadError:
            continue
        quick = read_submission(path)
        assert [(c.cell_type, c.get("id"), c.source) for c in quick.cells] == \
               [(c.cell_type, c.get("id"), c.source) for c in full.cells], path.name


def test_a_submission_with_flawed_outputs_is_still_read(tmp_path):
    nb = notebook(("code", "x = 1"), ("markdown", "# title"))
    data = json.loads(nbformat.writes(nb))
    data["cells"][0]["outputs"] = [{"output_type": "stream"}]  # no name, no text: the schema says invalid
    path = tmp_path / "flawed.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(NotebookReadError):
        read_notebook(path)
    assert [c.source for c in read_submission(path).cells] == ["x = 1", "# title"]


def test_an_error_naming_a_students_file_shows_its_control_characters_as_escapes(tmp_path, capsys):
    """A file name is the student's: escape sequences in it must not clear or rewrite the TA's terminal."""
    from autograder.cli import main

    path = tmp_path / "bad\x1b[2J\x1b]0;title\x07name.ipynb"
    path.write_bytes(b"not json")
    assert main(["--root", str(tmp_path), "check", str(path)]) == 2
    shown = capsys.readouterr().err
    assert "\x1b" not in shown and "\x07" not in shown
    assert "bad\\x1b[2J\\x1b]0;title\\x07name.ipynb: line 1: invalid JSON" in shown
