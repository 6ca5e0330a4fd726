"""Of several uploaded files, the assignment's notebook is chosen without reading through a link or
waiting on a pipe that a student's upload holds."""
import os
import subprocess
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.choice import choose_notebook

SLUG = "lec27_attention"


def notebook(path, assignment=None, ids=("q1",)):
    nb = new_notebook(cells=[new_code_cell("x = 1", id=cell_id) for cell_id in ids])
    if assignment:
        nb.metadata["autograder"] = {"assignment": assignment}
    nbformat.write(nb, path)
    return path


def test_a_link_is_not_read_to_choose(tmp_path):
    outside = notebook(tmp_path / "solution.ipynb", assignment=SLUG, ids=("other",))
    (tmp_path / "submission").mkdir()
    link = tmp_path / "submission" / "a.ipynb"
    link.symlink_to(outside)
    mine = notebook(tmp_path / "submission" / "mine.ipynb")
    chosen, note = choose_notebook([link, mine], SLUG, {"q1"})
    assert chosen == mine, "the metadata of the file behind the link chose it"
    assert "`mine.ipynb`" in note and "`a.ipynb`" in note


def test_a_named_pipe_among_the_uploads_does_not_stop_the_choice(tmp_path):
    os.mkfifo(tmp_path / "a.ipynb")
    notebook(tmp_path / "mine.ipynb", assignment=SLUG)
    code = ("import sys; from pathlib import Path; from autograder.choice import choose_notebook; "
            "folder = Path(sys.argv[1]); "
            f"print(choose_notebook([folder / 'a.ipynb', folder / 'mine.ipynb'], {SLUG!r}, set())[0].name)")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("choosing among the uploads waited on a named pipe") from None
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "mine.ipynb"
