"""The review page driven in real headless Chromium: the whole TA loop (grade, review, points saved,
grades.csv updated), two TAs at once, a student's script that must not run, Hangul as glyphs.

One graded folder and one server serve every test; each test grades answers no other test touches."""
import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import REPO
from hand_course import answered, built_copy
from PIL import Image, ImageChops
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
HOSTILE = ('<script>window.__pwned = "script"</script>\n\n<img src=x onerror="window.__pwned = \'img\'">\n\n'
           '[click](javascript:window.__pwned=1) **굵게** 분석')


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return built_copy(tmp_path_factory)


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("review")
    subs = tmp_path / "subs"
    subs.mkdir()
    answered(course, subs / "alice.ipynb")
    answered(course, subs / "bob.ipynb", analysis=HOSTILE)
    answered(course, subs / "carol.ipynb", square="x")
    out = tmp_path / "out"
    result = course.run("grade", "curves", str(subs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def start_review(folder, *graders):
    """`autograder review` on a free port: the process and one URL per TA. Its access log goes to a file,
    process.log: a pipe nobody reads fills after a few hundred requests and stops the server."""
    log = tempfile.NamedTemporaryFile("w+", prefix="review-log-", suffix=".txt")
    process = subprocess.Popen([sys.executable, "-m", "autograder", "review", str(folder), "--port", "0",
                                *(arg for name in graders for arg in ("--grader", name))],
                               stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO,
                               # Ctrl-C as in a terminal, even when this run's own SIGINT is ignored (a job started with &)
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    process.log = log
    urls = {}
    while len(urls) < len(graders):
        line = process.stdout.readline()
        assert line, Path(log.name).read_text()
        name, url = re.match(r"review page for (.+): (http://\S+)", line).groups()
        urls[name] = url
    return process, urls


@pytest.fixture(scope="module")
def server(graded):
    """`autograder review` on a free port, with one URL per TA."""
    process, urls = start_review(graded, "ta1", "조교2")
    yield graded, urls
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    log = Path(process.log.name).read_text()
    assert "GET /grade/" in log and not any(url.split("token=")[1] in log for url in urls.values()), \
        "the access log must not show the TAs' tokens"


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def book(folder):
    with (folder / "grades.csv").open(encoding="utf-8", newline="") as handle:
        return {r["submission"]: r for r in csv.DictReader(handle)}


def test_a_ta_grades_a_written_answer_and_the_gradebook_follows(server, browser):
    out, urls = server
    page = browser.new_page()
    page.goto(urls["ta1"])
    left = int(re.search(r"(\d) of 3 left for w1", page.locator("#progress-w1").inner_text()).group(1))
    page.click("#progress-w1 a")
    assert page.locator("#submission-name").inner_text() == "alice.ipynb"
    assert page.locator(".markdown").inner_text() == "손실이 줄어듭니다."
    assert page.locator("img[alt='figure in cell plot']").evaluate("img => img.naturalWidth") > 100  # the grader's run
    assert "곡선이 왜 내려가는지 설명" in page.locator(".rubric").inner_text()
    page.fill("#points", "4")
    page.fill("#comment", "축 이름을 붙이세요")
    page.click("#save")
    assert page.locator("#submission-name").inner_text() == "bob.ipynb"   # on to the next answer
    assert page.locator("#progress").inner_text() == f"{left - 1} of 3 left for w1"
    page.goto(page.url.replace("/bob/", "/alice/"))
    page.reload()
    assert page.locator("#given").inner_text().startswith("Graded: 4 / 5 by ta1")
    assert page.locator("#comment").input_value() == "축 이름을 붙이세요"
    assert book(out)["alice.ipynb"]["w1"] == "4" and book(out)["alice.ipynb"]["score"] == "9"
    assert "축 이름을 붙이세요" in (out / "alice" / "feedback.md").read_text()
    # Points outside the question's range are refused with a message, and nothing is saved.
    page.fill("#points", "7")
    page.locator("#points").evaluate("input => input.removeAttribute('max')")
    page.click("#save")
    assert page.locator(".error").inner_text() == "Points must be a number from 0 to 5."
    assert book(out)["alice.ipynb"]["w1"] == "4"


def test_two_tas_grade_at_once_and_both_entries_are_kept(server, browser):
    out, urls = server
    first, second = browser.new_context().new_page(), browser.new_context().new_page()
    first.goto(urls["ta1"])
    second.goto(urls["조교2"])
    first.goto(first.url.rstrip("/") + "/grade/carol/w1")
    second.goto(second.url.rstrip("/") + "/grade/bob/q2?walk=submission")
    first.fill("#points", "5")
    second.fill("#points", "1")
    # Both forms are sent before either answer is read back.
    with first.expect_navigation(), second.expect_navigation():
        first.evaluate("() => document.forms[0].requestSubmit()")
        second.evaluate("() => document.forms[0].requestSubmit()")
    rows = book(out)
    assert (rows["carol.ipynb"]["w1"], rows["bob.ipynb"]["q2"]) == ("5", "4")  # q2: 3 by tests + 1 by hand
    with sqlite3.connect(out / "review.sqlite") as db:
        changes = db.execute("SELECT submission, question, grader FROM changes WHERE submission != 'alice'").fetchall()
    assert sorted(changes) == [("bob", "q2", "조교2"), ("carol", "w1", "ta1")]


def test_a_script_in_a_students_answer_does_not_run(server, browser):
    out, urls = server
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(urls["ta1"])
    page.goto(page.url.rstrip("/") + "/grade/bob/w1")
    text = page.locator(".markdown").inner_text()
    assert '<script>window.__pwned = "script"</script>' in text and "onerror" in text  # shown as text
    assert page.locator(".markdown strong").inner_text() == "굵게"                   # Markdown still works
    page.click("text=click") if page.locator("text=click").count() else None
    assert page.evaluate("() => window.__pwned") is None and dialogs == []
    assert page.locator(".markdown script, .markdown img").count() == 0


def test_a_page_without_the_token_is_refused(server, browser):
    _, urls = server
    page = browser.new_page()
    base = urls["ta1"].split("?")[0]
    assert page.goto(base).status == 403
    assert page.goto(base + "?token=wrong").status == 403
    assert page.goto(base + "grade/alice/w1").status == 403
    signed_in = browser.new_page()
    signed_in.goto(urls["ta1"])
    name = next(c["name"] for c in signed_in.context.cookies() if c["name"].startswith("autograder_review"))
    page.context.add_cookies([{"name": name, "value": "%ED%95%9C\u00e9", "url": base}])
    assert page.goto(base).status == 403  # a cookie that is no token, also one that is not ASCII


def test_a_korean_question_name_renders_as_glyphs(server, browser, tmp_path):
    _, urls = server
    page = browser.new_page()
    page.goto(urls["ta1"])
    page.goto(page.url.rstrip("/") + "/grade/alice/w1")
    heading = page.locator("h1")
    assert heading.inner_text() == "2 결과 분석"
    heading.screenshot(path=tmp_path / "hangul.png")
    # The same number of characters no font has: what missing glyphs look like (boxes).
    heading.evaluate("h => h.textContent = '2 \\u{F0000}\\u{F0001} \\u{F0002}\\u{F0003}'")
    heading.screenshot(path=tmp_path / "boxes.png")
    hangul, boxes = (Image.open(tmp_path / name).convert("L") for name in ("hangul.png", "boxes.png"))
    assert hangul.getextrema()[0] < 100, "the heading's text is drawn"
    size = (min(hangul.width, boxes.width), min(hangul.height, boxes.height))
    difference = ImageChops.difference(hangul.crop((0, 0, *size)), boxes.crop((0, 0, *size)))
    changed = sum(difference.histogram()[61:])
    assert changed > 200, "Hangul is drawn like missing glyphs: install fonts-noto-cjk"


def test_two_review_pages_on_one_host_keep_their_own_sign_in(server, browser, tmp_path):
    """Cookies belong to a host, not to a port: a TA who opens a second review page (another folder, another
    port) stays signed in to the first."""
    graded, urls = server
    other = tmp_path / "other"
    shutil.copytree(graded, other, ignore=shutil.ignore_patterns("review.sqlite*"))
    process, other_urls = start_review(other, "ta9")
    context = browser.new_context()  # one browser profile, one cookie jar
    try:
        page = context.new_page()
        assert page.goto(urls["ta1"]).status == 200
        assert page.goto(other_urls["ta9"]).status == 200
        first, second = (u.split("?")[0] for u in (urls["ta1"], other_urls["ta9"]))
        assert page.goto(first).status == 200 and "ta1" in page.content()
        assert page.goto(second).status == 200 and "ta9" in page.content()
    finally:
        context.close()  # its open connections would hold the server's shutdown
        process.send_signal(signal.SIGTERM)  # as `kill` or `docker stop` ends it
        assert process.wait(timeout=20) == 0


def test_the_overview_shows_a_submission_graded_after_the_page_started(server, browser):
    """The listing is read at each request: a file graded into the folder later (a late submission, a batch
    graded again) appears without restarting the page."""
    graded, urls = server
    context = browser.new_context()
    page = context.new_page()
    page.goto(urls["ta1"])
    assert "dave.ipynb" not in page.content()
    shutil.copytree(graded / "alice", graded / "dave")
    record = json.loads((graded / "dave" / "record.json").read_text(encoding="utf-8"))
    (graded / "dave" / "record.json").write_text(json.dumps({**record, "submission": "dave.ipynb"}), encoding="utf-8")
    try:
        page.goto(urls["ta1"].split("?")[0])
        assert "dave.ipynb" in page.content()
        assert page.goto(urls["ta1"].split("?")[0] + "grade/dave/w1").status == 200
    finally:
        context.close()
        shutil.rmtree(graded / "dave")
