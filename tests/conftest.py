"""Fixtures: small courses made of real notebooks written with nbformat."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent


def notebook(*cells) -> nbformat.NotebookNode:
    """A notebook from ('code'|'md', source) pairs, with ids c0, c1, ..."""
    made = []
    for index, (kind, source) in enumerate(cells):
        maker = new_code_cell if kind == "code" else new_markdown_cell
        made.append(maker(source, id=f"c{index}"))
    nb = new_notebook(cells=made, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.nbformat_minor = 5
    return nb


class Course:
    """A course repository in a temporary folder, driven through the real command line."""

    def __init__(self, root: Path):
        self.root = root

    def add(self, slug: str, nb, config: str = "title: Demo\n") -> Path:
        folder = self.root / "assignments" / slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "assignment.yaml").write_text(config, encoding="utf-8")
        nbformat.write(nb, folder / "source.ipynb")
        return folder

    def add_graded(self, slug: str, nb, config: str, probes: str, tests: str) -> Path:
        """An assignment with hidden tests: its notebook and settings, graders/<slug>/probes.py and
        graders/<slug>/test_<slug>.py."""
        folder = self.add(slug, nb, config)
        graders = self.root / "graders" / slug
        graders.mkdir(parents=True, exist_ok=True)
        (graders / "probes.py").write_text(probes)
        (graders / f"test_{slug}.py").write_text(tests)
        return folder

    def build(self, *slugs: str) -> None:
        """`autograder build`, which must succeed."""
        built = self.run("build", *slugs)
        assert built.returncode == 0, built.stderr

    def student(self, slug: str) -> Path:
        return self.root / "assignments" / slug / f"{slug}.ipynb"

    def solution(self, slug: str) -> Path:
        return self.root / "solutions" / f"{slug}.ipynb"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "autograder", "--root", str(self.root), *args],
            capture_output=True, text=True, timeout=300,
        )


@pytest.fixture
def course(tmp_path) -> Course:
    return Course(tmp_path)
