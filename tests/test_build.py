"""Building assignments through the real command line, with the solution executed in a real kernel."""
import base64
import json
from array import array

import nbformat
import pytest
from conftest import notebook

SOURCE = notebook(
    ("md", "# 연습\n\nCompute a root."),
    ("code", "import math\nprint('setup')"),
    ("code", "r = math.sqrt(2)  # SOLUTION\nprint(round(r, 4))"),
    ("code", "# SOLUTION ONLY\nassert round(r, 3) == 1.414"),
    ("code", "r"),
)


def test_build_writes_student_and_executed_solution(course):
    course.add("demo", SOURCE, "title: Demo\nstudent_outputs: true\n")
    result = course.run("build")
    assert result.returncode == 0, result.stderr
    student = nbformat.read(course.student("demo"), 4)
    solution = nbformat.read(course.solution("demo"), 4)
    nbformat.validate(student)
    nbformat.validate(solution)
    assert [c.id for c in student.cells] == ["c0", "c1", "c2", "c4"]
    assert student.cells[2].source == "r = ### your code\nprint(round(r, 4))"
    assert solution.cells[2].source == "r = math.sqrt(2)\nprint(round(r, 4))"
    # The solution is executed, numbered in order; the student copy shows the same outputs, unnumbered.
    assert [c.execution_count for c in solution.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    assert solution.cells[2].outputs[0].text == "1.4142\n"
    assert student.cells[2].outputs[0].text == "1.4142\n"
    assert student.cells[3].outputs[0].data["text/plain"] == "1.4142135623730951"
    assert all(c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert student.cells[3].outputs[0].execution_count is None


def test_a_course_without_hidden_tests_builds_without_importing_torch(course):
    import subprocess
    import sys

    course.add("demo", SOURCE, "title: Demo\nstudent_outputs: true\n")
    program = ("import sys\nfrom autograder.cli import main\n"
               f"code = main(['--root', {str(course.root)!r}, 'build'])\nprint(code, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "0 False", result.stdout + result.stderr


def test_student_outputs_and_counts_follow_the_config(course):
    course.add("demo", SOURCE, "title: Demo\nstudent_outputs: false\nsolution_execution_counts: false\n")
    assert course.run("build").returncode == 0
    student = nbformat.read(course.student("demo"), 4)
    solution = nbformat.read(course.solution("demo"), 4)
    assert all(c.outputs == [] for c in student.cells if c.cell_type == "code")
    assert all(c.execution_count is None for c in solution.cells if c.cell_type == "code")
    assert solution.cells[2].outputs[0].text == "1.4142\n"


def test_rebuild_is_byte_identical(course):
    course.add("demo", SOURCE, "title: Demo\nstudent_outputs: true\n")
    assert course.run("build").returncode == 0
    first = course.student("demo").read_bytes(), course.solution("demo").read_bytes()
    course.student("demo").unlink()
    course.solution("demo").unlink()
    assert course.run("build", "demo").returncode == 0
    assert (course.student("demo").read_bytes(), course.solution("demo").read_bytes()) == first
    # Nothing but the two notebooks is left behind (no temporary files).
    assert sorted(p.name for p in course.student("demo").parent.iterdir()) == ["assignment.yaml", "demo.ipynb", "source.ipynb"]


def test_check_passes_when_fresh_and_names_the_stale_file(course):
    folder = course.add("demo", SOURCE)
    assert course.run("build").returncode == 0
    fresh = course.run("build", "--check")
    assert fresh.returncode == 0 and "up to date" in fresh.stdout

    changed = notebook(*[(c.cell_type if c.cell_type == "code" else "md", c.source) for c in SOURCE.cells])
    changed.cells[0].source = "# 연습 (수정)"
    nbformat.write(changed, folder / "source.ipynb")
    before = course.student("demo").read_bytes()
    stale = course.run("build", "--check")
    assert stale.returncode == 1
    assert "stale: assignments/demo/demo.ipynb" in stale.stderr
    assert "stale: solutions/demo.ipynb" in stale.stderr
    assert course.student("demo").read_bytes() == before  # --check writes nothing


def test_check_catches_a_hand_edited_solution(course):
    course.add("demo", SOURCE)
    assert course.run("build").returncode == 0
    course.solution("demo").write_text(course.solution("demo").read_text().replace("1.4142", "1.4"))
    result = course.run("build", "--check")
    assert result.returncode == 1 and "stale: solutions/demo.ipynb" in result.stderr


def test_solution_that_raises_stops_the_build_naming_cell_and_source_line(course):
    bad = notebook(
        ("md", "intro"),
        ("code", "x = 1\n### BEGIN SOLUTION\ny = 2\nz = y / 0\n### END SOLUTION\nprint(z)"),
    )
    course.add("demo", bad)
    result = course.run("build")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: assignments/demo/source.ipynb: cell 1 (id c1): line 4: the solution raised ZeroDivisionError: division by zero"]
    assert not course.student("demo").exists() and not course.solution("demo").exists()


def test_failed_build_leaves_every_earlier_file_untouched(course):
    course.add("a_good", SOURCE)
    course.add("b_bad", notebook(("code", "raise RuntimeError('boom')")))
    result = course.run("build")
    assert result.returncode == 2 and "cell 0 (id c0): line 1: the solution raised RuntimeError: boom" in result.stderr
    assert not course.student("a_good").exists(), "nothing is written when any assignment fails"
    assert course.run("build", "a_good").returncode == 0
    good = course.student("a_good").read_bytes()
    course.run("build")
    assert course.student("a_good").read_bytes() == good


def test_slow_solution_hits_the_cell_time_limit(course):
    course.add("demo", notebook(("code", "import time\ntime.sleep(30)")), "title: Slow\nlimits:\n  cell_seconds: 2\n")
    result = course.run("build")
    assert result.returncode == 2
    assert "cell 0 (id c0): the solution did not finish within 2 s" in result.stderr


def test_solution_runs_in_a_copy_of_the_assignment_folder(course):
    folder = course.add("demo", notebook(("code", "print(open('data.txt').read())\nopen('scratch.txt', 'w').write('x')")))
    (folder / "data.txt").write_text("hello data")
    assert course.run("build").returncode == 0
    assert nbformat.read(course.solution("demo"), 4).cells[0].outputs[0].text == "hello data\n"
    assert not (folder / "scratch.txt").exists()


@pytest.mark.parametrize("cells, config, words", [
    ([("md", "x = 1  # SOLUTION")], "title: t\n", "cell 0 (id c0): line 1: solution marker '# SOLUTION' in a markdown cell"),
    ([("code", "### BEGIN SOLUTION\nx = 1")], "title: t\n", "cell 0 (id c0): line 1: '### BEGIN SOLUTION' is never closed"),
    ([("code", "x = 1\n### END SOLUTION")], "title: t\n", "cell 0 (id c0): line 2: '### END SOLUTION' without"),
    ([("code", "x = 1\ny =  # SOLUTION")], "title: t\n", "cell 0 (id c0): line 2: nothing after '=' to remove"),
    ([("code", "x = 1")], "title: t\ncolour: red\n", "assignment.yaml: line 2: unknown key 'colour'"),
    ([("code", "x = 1")], "title: t\nstudent_outputs: maybe\n", "assignment.yaml: line 2: 'student_outputs' must be true or false"),
], ids=["markdown-marker", "unclosed", "stray-end", "empty-marker", "unknown-key", "wrong-type"])
def test_bad_input_gives_one_line_and_writes_nothing(course, cells, config, words):
    course.add("demo", notebook(*cells), config)
    result = course.run("build")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: assignments/demo/"), result.stderr
    assert words in lines[0]
    assert not course.student("demo").exists() and not course.solution("demo").exists()


def test_invalid_json_source_names_file_and_line(course):
    folder = course.add("demo", SOURCE)
    (folder / "source.ipynb").write_text('{\n "cells": [\n')
    result = course.run("build")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: assignments/demo/source.ipynb: line 3: invalid JSON")


def test_unknown_slug_lists_the_known_ones(course):
    course.add("demo", SOURCE)
    result = course.run("build", "nope")
    assert result.returncode == 2 and "no assignment 'nope' here (known: demo)" in result.stderr


def test_output_flushed_in_many_pieces_is_one_stream(course):
    chatty = "import sys, time\nfor i in range(50):\n    print(i, flush=True)\n    time.sleep(0.002)\nprint('err', file=sys.stderr)"
    course.add("demo", notebook(("code", chatty)))
    assert course.run("build").returncode == 0
    outputs = nbformat.read(course.solution("demo"), 4).cells[0].outputs
    assert [(o.name, o.text) for o in outputs] == [("stdout", "".join(f"{i}\n" for i in range(50))), ("stderr", "err\n")]


def _checks_file(values: list[float]) -> bytes:
    raw = base64.b64encode(array("f", values).tobytes()).decode()
    return json.dumps({"questions": {"q1": {"checks": [{"value": {"__tensor__": {
        "dtype": "float32", "shape": [len(values)], "bytes": raw}}}]}}}).encode()


def test_checks_file_tolerates_another_cpus_last_bits_but_not_a_changed_value(tmp_path):
    from autograder.authoring.freshness import stale_files
    checks = tmp_path / "demo_checks.json"
    checks.write_bytes(_checks_file([0.1, 1.5, -2.25]))
    last_bit = [0.1 * (1 + 2e-7), 1.5, -2.25]  # one float32 ulp off, as another CPU's sum order gives
    assert stale_files({checks: _checks_file(last_bit)}) == []
    assert stale_files({checks: _checks_file([0.1, 1.5, -2.2])}) == [checks]
    assert stale_files({checks: _checks_file([0.1, 1.5])}) == [checks]
    notebook_file = tmp_path / "demo.ipynb"
    notebook_file.write_bytes(b'{"x": 0.1}')
    assert stale_files({notebook_file: b'{"x": 0.10000001}'}) == [notebook_file]  # notebooks: bytes


def test_checks_file_holding_nan_or_infinity_is_fresh_when_only_last_bits_differ(tmp_path):
    """NaN never equals NaN as a float: a checks file holding one (a check of a masked score, say) must not
    look stale for ever. Infinity matches only its own sign."""
    from autograder.authoring.freshness import stale_files
    nan, inf = float("nan"), float("inf")
    checks = tmp_path / "demo_checks.json"
    checks.write_bytes(_checks_file([nan, inf, -inf, 0.1]))
    assert stale_files({checks: _checks_file([nan, inf, -inf, 0.1 * (1 + 2e-7)])}) == []
    assert stale_files({checks: _checks_file([nan, -inf, -inf, 0.1 * (1 + 2e-7)])}) == [checks]
    assert stale_files({checks: _checks_file([0.0, inf, -inf, 0.1 * (1 + 2e-7)])}) == [checks]
    plain = tmp_path / "plain_checks.json"
    plain.write_bytes(json.dumps({"v": [nan, inf, 0.1]}).encode())
    assert stale_files({plain: json.dumps({"v": [nan, inf, 0.1 * (1 + 1e-9)]}).encode()}) == []
    assert stale_files({plain: json.dumps({"v": [nan, -inf, 0.1]}).encode()}) == [plain]


def test_the_solution_runs_beside_exactly_the_files_a_worker_sees(course):
    """Hidden entries (an editor's swap file, a .git folder, a token left in a dotfile) and Python caches are
    not assignment files: the solution's run at build time does not see them, as workers do not."""
    listing = ("import os\nfor top, dirs, names in sorted(os.walk('.')):\n    dirs.sort()\n"
               "    for name in sorted(names):\n        print(os.path.join(top, name))")
    folder = course.add("demo", notebook(("code", listing)))
    (folder / "corpus.txt").write_text("words")
    (folder / ".env").write_text("TOKEN=secret")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]")
    (folder / "data").mkdir()
    (folder / "data" / "rows.csv").write_text("a\n1\n")
    (folder / "data" / ".rows.csv.swp").write_text("swap")
    (folder / "data" / "__pycache__").mkdir()
    (folder / "data" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    course.build()
    printed = nbformat.read(course.solution("demo"), 4).cells[0].outputs[0].text.split()
    assert printed == ["./corpus.txt", "./data/rows.csv"]
