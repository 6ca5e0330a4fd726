"""Plots: a figure a cell shows is kept (size-capped) in the graded notebook and its page, and a
probe reads what it plots (lines, bars, labels, titles) so a test checks its content, not pixels.
Packages: an assignment names the modules it needs; a missing one stops the build, a present one
is imported once by the fork server."""
import csv
import json
import re

import nbformat
import pytest
from conftest import Course, notebook

CONFIG = """title: Plots
packages: [matplotlib.pyplot]
questions:
  - {id: q1, name: "Plot the square", points: 2}
"""
PROBES = '''
from autograder.probes import Probes, figures
probes = Probes()

@probes.after("plot")
def drawn(ns):
    return figures()
'''
TESTS = '''
import pytest
import torch
from autograder.testing import expect_close, expect_same

@pytest.mark.question("q1")
def test_plot(student, reference):
    """the figure: a line, bars, labels"""
    expect_same(student, reference, "drawn", "your figure")

@pytest.mark.question("q1")
@pytest.mark.hidden
def test_line_is_the_square(student, reference):
    """the line plots y = x²"""
    line = student["drawn"][0]["axes"][0]["lines"][0]
    expect_close(line["y"], line["x"] ** 2, "the plotted line")
'''
SOURCE = notebook(
    ("code", "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(-2, 2, 9)"),
    ("code", 'plt.figure(figsize=(4, 3))\nplt.plot(x, x ** 2, label="square")  # SOLUTION\n'
             'plt.bar([0, 1], [3, 5], label="counts")\nplt.title("Squares")\nplt.xlabel("x")\nplt.legend()\nplt.show()'),
)
SOURCE.cells[1].id = "plot"
HOSTILE = '''import sys
print("PRELOADED", "matplotlib.pyplot" in sys.modules)
import matplotlib.pyplot as plt
for i in range(20):
    plt.figure()
    plt.plot([0, 1], [i, i])
plt.figure(figsize=(1000, 1000))
plt.plot([0, 1], [0, 1])
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.add_graded("plots", SOURCE, CONFIG, PROBES, TESTS)
    course.build()
    return course


def submission(course, folder, name, line=None, extra=None):
    nb = nbformat.read(course.solution("plots"), 4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    if line is not None:
        nb.cells[1].source = nb.cells[1].source.replace('plt.plot(x, x ** 2, label="square")', line)
    if extra is not None:
        nb.cells.insert(1, nbformat.v4.new_code_cell(extra, id="extra"))
    nbformat.write(nb, folder / name)


def test_plots_are_kept_and_probed(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    submission(course, subs, "correct.ipynb")
    submission(course, subs, "cube.ipynb", line='plt.plot(x, x ** 3, label="square")')
    submission(course, subs, "unlabelled.ipynb", line="plt.plot(x, x ** 2)")
    submission(course, subs, "hostile.ipynb", extra=HOSTILE)
    nbformat.write(nbformat.read(course.student("plots"), 4), subs / "blank.ipynb")
    out = tmp_path / "out"
    result = course.run("grade", "plots", str(subs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    scores = {r["submission"]: float(r["score"]) for r in csv.DictReader((out / "grades.csv").open())}
    assert scores == {"correct.ipynb": 2.0, "cube.ipynb": 0.0, "unlabelled.ipynb": 1.0, "hostile.ipynb": 2.0,
                      "blank.ipynb": 0.0}
    cube = json.loads((out / "cube" / "results.json").read_text())["tests"]
    assert "your figure[0]['axes'][0]['lines'][0]['y']: 7 of 9 values differ" in cube[0]["output"]
    unlabelled = json.loads((out / "unlabelled" / "results.json").read_text())["tests"]
    assert "your figure[0]['axes'][0]['legend'][0]: texts differ at character 0: expected `'square'`, got `'counts'`" in unlabelled[0]["output"]

    graded = nbformat.read(out / "correct" / "graded.ipynb", 4)
    images = [o for c in graded.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "display_data"]
    assert len(images) == 1 and images[0].data["image/png"].startswith("iVBORw0KGgo")  # a PNG
    hostile = nbformat.read(out / "hostile" / "graded.ipynb", 4)
    extra = next(c for c in hostile.cells if c.cell_type == "code" and "PRELOADED" in c.source)
    assert "PRELOADED True" in extra.outputs[0].text  # the fork server imported matplotlib.pyplot
    kept = [o for o in extra.outputs if o.output_type == "display_data"]
    assert len(kept) == 4 and all(len(o.data["image/png"]) < 300_000 for o in kept)
    assert "17 more figure(s) of this cell were not kept" in (out / "hostile" / "feedback.md").read_text()
    report = course.run("report", str(out))
    assert report.returncode == 0, report.stderr
    assert re.search(r'<img [^>]*src="data:image/png;base64,iVBORw0KGgo', (out / "correct" / "feedback.html").read_text())


def test_a_missing_package_stops_the_build_naming_it(course):
    config = course.root / "assignments" / "plots" / "assignment.yaml"
    saved = config.read_text()
    config.write_text(saved.replace("[matplotlib.pyplot]", "[matplotlib.pyplot, textkit_not_installed]"))
    try:
        built = course.run("build", "plots")
        graded = course.run("grade", "plots", str(course.solution("plots")), "--out", str(course.root / "o"))
    finally:
        config.write_text(saved)
    for result in (built, graded):
        assert result.returncode == 2
        assert ("assignments/plots/assignment.yaml: assignment 'plots' needs the package 'textkit_not_installed', which "
                "is not installed here; add it to the 'course' extra in pyproject.toml and run 'make setup'") in result.stderr


def test_a_module_missing_inside_an_installed_package_is_named_too(tmp_path):
    """`matplotlib.pyplott` is as missing as a package that is not installed: found without importing
    matplotlib in the grader (its code runs only in the fork server's preload)."""
    import subprocess
    import sys

    probe = ("import sys; from pathlib import Path; from autograder.course import Layout, check_packages\n"
             "layout = Layout(Path(sys.argv[1]), 'plots')\n"
             "check_packages(layout, ('matplotlib.pyplot', 'json.decoder', 'torch.nn.functional'))\n"
             "print('imported' if 'matplotlib' in sys.modules else 'not imported')\n"
             "check_packages(layout, ('matplotlib.pyplott',))\n")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.stdout == "not imported\n", result.stderr
    assert result.returncode == 1
    assert ("assignment 'plots' needs the package 'matplotlib.pyplott', which is not installed here" in result.stderr)
