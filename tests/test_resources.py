"""Resources by URL and SHA-256: `autograder fetch` downloads them once (served here by http.server on
127.0.0.1) into the course's cache and checks the hash; build, grading, check, the handout and the
exports use the cached copy, read-only; a missing or damaged copy stops them naming the command."""
import csv
import functools
import hashlib
import http.server
import shutil
import threading
import zipfile

import nbformat
import pytest
from conftest import REPO, Course, notebook

WEIGHTS = ("\n".join(str(n * 0.5) for n in range(40)) + "\n").encode()
SHA = hashlib.sha256(WEIGHTS).hexdigest()
PROBES = '''
from autograder.probes import Probes
probes = Probes()
probes.capture("total-cell", "total")
'''
TESTS = '''
import pytest
from autograder.testing import expect_same

@pytest.mark.question("q1")
def test_total(student, reference):
    """the sum of the weights"""
    expect_same(student, reference, "total-cell:total")
'''
SOURCE = notebook(
    ("code", 'weights = [float(line) for line in open("weights.txt")]\n'
             'try:\n    open("weights.txt", "w")\n    writable = True\nexcept OSError:\n    writable = False\nprint("WRITABLE", writable)'),
    ("code", "total = sum(weights)  # SOLUTION"),
)
SOURCE.cells[1].id = "total-cell"


def config(url: str, sha: str = SHA) -> str:
    return (f"title: Weights\nresources:\n  - {{name: weights.txt, url: \"{url}\", sha256: \"{sha}\"}}\n"
            "questions:\n  - {id: q1, name: Total, points: 1}\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("www")
    (folder / "weights.txt").write_bytes(WEIGHTS)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def course(tmp_path_factory, served):
    course = Course(tmp_path_factory.mktemp("course"))
    course.add_graded("weights", SOURCE, config(f"{served}/weights.txt"), PROBES, TESTS)
    return course


def test_fetch_build_grade_check_handout_and_export(course, served, tmp_path):
    not_yet = course.run("build")
    assert not_yet.returncode == 2
    assert "resource 'weights.txt' is not downloaded yet; run 'autograder fetch weights'" in not_yet.stderr
    fetched = course.run("fetch", "weights")
    assert fetched.returncode == 0, fetched.stderr
    assert "weights/weights.txt: downloaded and verified (" in fetched.stdout
    assert course.run("fetch").stdout.strip() == "weights/weights.txt: already downloaded"
    assert (course.root / ".cache" / "resources" / SHA).read_bytes() == WEIGHTS
    built = course.run("build")
    assert built.returncode == 0, built.stderr

    subs = tmp_path / "subs"
    subs.mkdir()
    solution = nbformat.read(course.solution("weights"), 4)
    nbformat.write(solution, subs / "solution.ipynb")
    nbformat.write(nbformat.read(course.student("weights"), 4), subs / "blank.ipynb")
    graded = course.run("grade", "weights", str(subs), "--out", str(tmp_path / "out"))
    assert graded.returncode == 0, graded.stderr
    scores = {r["submission"]: float(r["score"]) for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert scores == {"solution.ipynb": 1.0, "blank.ipynb": 0.0}
    ran = nbformat.read(tmp_path / "out" / "solution" / "graded.ipynb", 4)
    assert any("WRITABLE False" in o.get("text", "") for c in ran.cells if c.cell_type == "code" for o in c.outputs)
    assert course.run("check", str(subs / "solution.ipynb"), "--assignment", "weights").returncode == 0

    assert course.run("handout", "weights", "--out", str(tmp_path / "h")).returncode == 0
    assert zipfile.ZipFile(tmp_path / "h" / "weights.zip").read("weights/weights.txt") == WEIGHTS
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, course.root / name)
    assert course.run("export", "gradescope", "weights", "--out", str(tmp_path / "gs")).returncode == 0
    # Where the grader looks for it (test_course_files runs a Gradescope export end to end).
    assert f".cache/resources/{SHA}" in zipfile.ZipFile(tmp_path / "gs" / "autograder.zip").namelist()
    assert course.run("export", "otter", "weights", "--out", str(tmp_path / "ot")).returncode == 0
    assert f"files/autograder_course/.cache/resources/{SHA}" in zipfile.ZipFile(tmp_path / "ot" / "autograder.zip").namelist()


def test_a_damaged_copy_stops_the_batch(course, tmp_path):
    if not course.student("weights").is_file():
        assert course.run("fetch").returncode == 0 and course.run("build").returncode == 0
    cached = course.root / ".cache" / "resources" / SHA
    cached.chmod(0o644)
    cached.write_bytes(WEIGHTS + b"1\n")
    try:
        result = course.run("grade", "weights", str(course.solution("weights")), "--out", str(tmp_path / "out"))
    finally:
        cached.write_bytes(WEIGHTS)
    assert result.returncode == 2
    assert (f".cache/resources/{SHA}: the cached copy of resource 'weights.txt' does not match its SHA-256 in "
            "assignment.yaml; run 'autograder fetch weights' again") in result.stderr


def test_a_wrong_hash_or_an_unreachable_url_keeps_nothing(course, served, tmp_path):
    other = Course(tmp_path)
    wrong = "0" * 64
    other.add("w", SOURCE, config(f"{served}/weights.txt", wrong))
    result = other.run("fetch", "w")
    assert result.returncode == 2
    assert f"resource 'weights.txt' from {served}/weights.txt has SHA-256 {SHA}, not {wrong}" in result.stderr
    assert not any((tmp_path / ".cache" / "resources").iterdir())
    other.add("w", SOURCE, config("http://127.0.0.1:9/nothing.txt"))
    result = other.run("fetch", "w")
    assert result.returncode == 2 and "could not be downloaded from http://127.0.0.1:9/nothing.txt" in result.stderr
    other.add("w", SOURCE, config(f"{served}/weights.txt", "ABC"))
    result = other.run("fetch", "w")
    assert result.returncode == 2 and "sha256 must be 64 lowercase hex digits" in result.stderr


class Unbounded(http.server.BaseHTTPRequestHandler):
    """/large.bin: 3 MB, its length said first; /endless: an answer that never ends, with no length."""

    def do_GET(self):
        self.send_response(200)
        if self.path == "/large.bin":
            self.send_header("Content-Length", str(3 << 20))
        self.end_headers()
        block = b"\0" * (1 << 16)
        try:
            for _ in range(48 if self.path == "/large.bin" else 1 << 30):
                self.wfile.write(block)
        except OSError:  # the client stopped reading
            pass

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("path", ["large.bin", "endless"])
def test_a_download_larger_than_the_limit_stops_and_keeps_nothing(path, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unbounded)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{path}"
        other = Course(tmp_path)
        other.add("w", SOURCE, config(url))
        result = other.run("fetch", "w", "--max-mb", "1")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 2
    assert (f"assignments/w/assignment.yaml: resource 'weights.txt' from {url} is larger than 1 MB, the most "
            "`autograder fetch` downloads; nothing was kept") in result.stderr
    assert not any((tmp_path / ".cache" / "resources").iterdir())
    assert other.run("fetch", "w", "--max-mb", "0").stderr == "error: --max-mb: 0 is not a size; give a number of MB, 1 or more\n"
