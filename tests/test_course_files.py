"""Assignment files: a data file, a data folder and a helper module beside the source notebook are
visible, read-only, to the solution's reference run, every submission, `autograder check` and both
exports, and go into the student handout; the source and settings never do."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, Course, notebook
from test_export import gradescope_run

CONFIG = """title: Words
questions:
  - {id: q1, name: "Tokens of the corpus", points: 2}
  - {id: q2, name: "Rows of the data file", points: 1}
"""
TEXTKIT = 'def tokenize(text):\n    """Words, lower-cased."""\n    return text.lower().split()\n'
CORPUS = "The cat sat on the mat\n고양이가 매트 위에 앉았다\n"
PROBES = '''
from autograder.probes import Probes
probes = Probes()
probes.capture("count", "tokens", "n_tokens")
probes.capture("rows-cell", "n_rows")
'''
TESTS = '''
import pytest
from autograder.testing import expect_same

@pytest.mark.question("q1")
def test_tokens(student, reference):
    """the corpus's tokens"""
    expect_same(student, reference, "count:tokens")

@pytest.mark.question("q1")
@pytest.mark.hidden
def test_count(student, reference):
    """how many tokens"""
    expect_same(student, reference, "count:n_tokens")

@pytest.mark.question("q2")
def test_rows(student, reference):
    """rows of data/rows.csv"""
    expect_same(student, reference, "rows-cell:n_rows")
'''
SOURCE = notebook(
    ("code", 'from textkit import tokenize\ntext = open("corpus.txt", encoding="utf-8").read()'),
    ("code", "tokens = tokenize(text)  # SOLUTION\nn_tokens = len(tokens)  # SOLUTION"),
    ("code", 'rows = open("data/rows.csv").read().splitlines()\nn_rows = len(rows) - 1  # SOLUTION'),
)
SOURCE.cells[1].id = "count"
SOURCE.cells[2].id = "rows-cell"
# Added at the top of a submission: tries to change, remove and replace the assignment's files,
# and to find the solution next to them.
ATTACK = '''import os
attempts = {}
for what, action in [("write corpus", lambda: open("corpus.txt", "w").write("x")),
                     ("remove textkit", lambda: os.remove("textkit.py")),
                     ("rename data", lambda: os.rename("data", "gone")),
                     ("write into data", lambda: open("data/new.csv", "w").write("x")),
                     ("replace corpus", lambda: os.replace("mine.txt", "corpus.txt"))]:
    if what == "replace corpus":
        open("mine.txt", "w").write("x")
    try:
        action()
        attempts[what] = "done"
    except OSError as exc:
        attempts[what] = "refused"
os.makedirs("textkit", exist_ok=True)
open("textkit/__init__.py", "w").write("def tokenize(text):\\n    return ['shadow']\\n")
print("ATTEMPTS", attempts)
print("LISTING", sorted(os.listdir(".")))
import sys
import tempfile
print("VISIBLE", [p for p in sys.path if os.path.isdir(p) and "source.ipynb" in os.listdir(p)])
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    folder = course.add_graded("words", SOURCE, CONFIG, PROBES, TESTS)
    (folder / "textkit.py").write_text(TEXTKIT)
    (folder / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "rows.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    course.build()
    return course


def answered(course, folder, name, attack=False):
    nb = nbformat.read(course.solution("words"), 4)
    for cell in nb.cells:
        cell.outputs = [] if cell.cell_type == "code" else cell.get("outputs")
    if attack:
        nb.cells.insert(0, nbformat.v4.new_code_cell(ATTACK, id="attack"))
    nbformat.write(nb, folder / name)
    return folder / name


def scores(out):
    return {r["submission"]: float(r["score"]) for r in csv.DictReader((out / "grades.csv").open())}


def test_files_are_seen_read_only_and_cannot_be_replaced(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    answered(course, subs, "a_attack.ipynb", attack=True)
    answered(course, subs, "b_correct.ipynb")
    blank = nbformat.read(course.student("words"), 4)
    nbformat.write(blank, subs / "c_blank.ipynb")
    result = course.run("grade", "words", str(subs), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert scores(tmp_path / "out") == {"a_attack.ipynb": 3.0, "b_correct.ipynb": 3.0, "c_blank.ipynb": 0.0}
    graded = nbformat.read(tmp_path / "out" / "a_attack" / "graded.ipynb", 4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert "ATTEMPTS {'write corpus': 'refused', 'remove textkit': 'refused', 'rename data': 'refused', " \
           "'write into data': 'refused', 'replace corpus': 'refused'}" in printed, printed
    listing = printed.split("LISTING ")[1].splitlines()[0]
    assert listing == "['corpus.txt', 'data', 'mine.txt', 'textkit', 'textkit.py']"  # no source, settings or notebook
    assert "VISIBLE []" in printed
    assert "isolation:" in result.stderr and "assignment files read-only in the working folder" in result.stderr


def test_check_and_handout_carry_the_files(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    checked = course.run("check", str(answered(course, subs, "mine.ipynb")), "--assignment", "words")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    made = course.run("handout", "words", "--out", str(tmp_path / "handout"))
    assert made.returncode == 0, made.stderr
    archive = zipfile.ZipFile(tmp_path / "handout" / "words.zip")
    # Every assignment with hidden tests hands out its checks file, for `autograder check` on the handout.
    assert sorted(archive.namelist()) == ["words/corpus.txt", "words/data/rows.csv", "words/textkit.py", "words/words.ipynb",
                                          "words/words_checks.json"]
    assert archive.read("words/corpus.txt").decode("utf-8") == CORPUS
    again = course.run("handout", "words", "--out", str(tmp_path / "again"))
    assert again.returncode == 0 and (tmp_path / "again" / "words.zip").read_bytes() == \
        (tmp_path / "handout" / "words.zip").read_bytes()


def test_exports_carry_the_files_and_grade_with_them(course, tmp_path):
    for name in ("pyproject.toml", "README.md"):  # the Gradescope zip installs the package from these
        shutil.copy(REPO / name, course.root / name)
    made = course.run("export", "gradescope", "words", "--out", str(tmp_path / "gs"))
    assert made.returncode == 0, made.stderr
    names = zipfile.ZipFile(tmp_path / "gs" / "autograder.zip").namelist()
    assert {"assignments/words/textkit.py", "assignments/words/corpus.txt", "assignments/words/data/rows.csv"} <= set(names)
    assert any(name.startswith(".cache/references/words-") for name in names)  # computed by the export
    subs = tmp_path / "subs"
    subs.mkdir()
    results = gradescope_run(tmp_path / "gs" / "autograder.zip", tmp_path,
                             {"s.ipynb": answered(course, subs, "s.ipynb").read_bytes()})
    assert results["score"] == 3.0
    made = course.run("export", "otter", "words", "--out", str(tmp_path / "otter"))
    assert made.returncode == 0, made.stderr
    names = zipfile.ZipFile(tmp_path / "otter" / "autograder.zip").namelist()
    assert {"files/autograder_course/assignments/words/data/rows.csv", "files/textkit.py", "files/corpus.txt",
            "files/data/rows.csv"} <= set(names)  # the course for the grader; the files beside the notebook for Otter
    assert any(name.startswith("files/autograder_course/.cache/references/words-") for name in names)
    otter = os.path.join(os.path.dirname(sys.executable), "otter")
    (tmp_path / "otter-out").mkdir()
    ran = subprocess.run([otter, "run", "-a", str(tmp_path / "otter" / "autograder.zip"), str(subs / "s.ipynb"),
                          "-o", str(tmp_path / "otter-out")], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    tests = json.loads((tmp_path / "otter-out" / "results.json").read_text())["tests"]
    assert sum(t["score"] for t in tests if t["name"] != "Public Tests") == 3.0


def test_a_changed_data_file_regrades_and_a_special_file_is_refused(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    answered(course, subs, "s.ipynb")
    out = tmp_path / "out"
    assert course.run("grade", "words", str(subs), "--out", str(out)).returncode == 0
    record = json.loads((out / "s" / "record.json").read_text())
    folder = course.root / "assignments" / "words"
    extra = folder / "data" / "more.csv"
    extra.write_text("x\n")
    try:
        assert course.run("grade", "words", str(subs), "--out", str(out)).returncode == 0
        assert json.loads((out / "s" / "record.json").read_text())["fingerprint"] != record["fingerprint"]
    finally:
        extra.unlink()
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    try:
        refused = course.run("grade", "words", str(subs), "--out", str(tmp_path / "out2"))
    finally:
        fifo.unlink()
    assert refused.returncode == 2
    assert "assignments/words/pipe: neither a file nor a folder" in refused.stderr


def test_without_mounts_of_its_own_the_files_are_copies_and_that_is_said(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    answered(course, subs, "s.ipynb")
    answered(course, subs, "t_attack.ipynb", attack=True)
    no_capabilities = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all"]
    result = subprocess.run([*no_capabilities, sys.executable, "-m", "autograder", "--root", str(course.root), "grade",
                             "words", str(subs), "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert scores(tmp_path / "out")["s.ipynb"] == 3.0  # the attack replaced its own copies, not this one's
    assert "isolation NOT in effect: assignment files read-only" in result.stderr
    graded = nbformat.read(tmp_path / "out" / "t_attack" / "graded.ipynb", 4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    # The copies keep the staged modes: not writable, though the working folder lets them be replaced.
    assert "'write corpus': 'refused'" in printed and "'write into data': 'refused'" in printed, printed


def test_staged_files_of_a_killed_grader_are_removed(tmp_path):
    from autograder.engine.course_files import remove_staged, stage_files

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = Path(tempfile.gettempdir()) / f"autograder-files-{dead.stdout.strip()}-x"
    (left / "data").mkdir(parents=True)
    (left / "data" / "f.txt").write_text("x")
    os.chmod(left / "data", 0o555)
    (tmp_path / "corpus.txt").write_text("x")
    staged = stage_files({"corpus.txt": tmp_path / "corpus.txt"})
    try:
        assert not left.exists()
        assert (staged / "corpus.txt").read_text() == "x"
        assert oct((staged / "corpus.txt").stat().st_mode & 0o777) == "0o444"
    finally:
        remove_staged(staged)
    assert not staged.exists()


def test_handout_exports_and_fingerprint_hold_exactly_what_workers_see(tmp_path):
    """A Python cache or a hidden file inside an assignment's folder is not an assignment file: workers
    do not see it, so the handout and exports do not carry it and it does not change the fingerprint."""
    from autograder.authoring.handout import handout_zip
    from autograder.course import Layout, course_files
    from autograder.engine.course_files import remove_staged, stage_files
    from autograder.files import files_digest
    from autograder.outputs.export import _course_files

    course = Course(tmp_path)
    course.add("words", notebook(("code", "x = 1")), CONFIG)
    layout = Layout(course.root, "words")
    layout.student.write_text("{}")
    layout.solution.parent.mkdir()
    layout.solution.write_text("{}")
    (layout.folder / "textkit").mkdir()
    (layout.folder / "textkit" / "__init__.py").write_text(TEXTKIT)
    (layout.folder / "data").mkdir()
    (layout.folder / "data" / "rows.csv").write_text("a\n1\n")
    files = course_files(layout)
    before = files_digest(files)
    (layout.folder / "textkit" / "__pycache__").mkdir()
    (layout.folder / "textkit" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0cache")
    (layout.folder / "data" / ".rows.csv.swp").write_bytes(b"an editor's swap file")
    assert files_digest(files) == before

    staged = stage_files(files)
    try:
        seen = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    finally:
        remove_staged(staged)
    assert seen == ["data/rows.csv", "textkit/__init__.py"]
    handout = zipfile.ZipFile(io.BytesIO(handout_zip(course.root, "words"))).namelist()
    assert sorted(handout) == ["words/data/rows.csv", "words/textkit/__init__.py", "words/words.ipynb"]
    exported = [name for name in _course_files(course.root, "words", "", ()) if name.startswith("assignments/words/")]
    assert sorted(exported) == ["assignments/words/assignment.yaml", "assignments/words/data/rows.csv",
                                "assignments/words/textkit/__init__.py", "assignments/words/words.ipynb"]
