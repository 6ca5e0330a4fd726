"""Questions graded by hand: pending after `grade`, points given through the review database or a
CSV, kept across a regrade while the answer stays the same, flagged when it changes."""
import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import nbformat
import pytest
from conftest import Course
from hand_course import PROBES, SOURCE, TESTS, answered, built_copy, png

from autograder.outputs.hand_answers import hand_answers
from autograder.outputs.hand_grades import rewrite_folder
from autograder.outputs.review_store import ReviewStore
from autograder.outputs.spreadsheet import plain_text


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return built_copy(tmp_path_factory)


def rows(folder):
    with (folder / "grades.csv").open(encoding="utf-8", newline="") as handle:
        return {r["submission"]: r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded_once(course, tmp_path_factory):
    root = tmp_path_factory.mktemp("graded")
    subs = root / "subs"
    subs.mkdir()
    answered(course, subs / "alice.ipynb")
    answered(course, subs / "bob.ipynb", square="x * 2")
    out = root / "out"
    result = course.run("grade", "curves", str(subs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return subs, out


@pytest.fixture
def graded(graded_once, tmp_path):
    """A fresh copy of one graded folder (and its submissions) for each test."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    shutil.copytree(graded_once[0], subs)
    shutil.copytree(graded_once[1], out)
    return subs, out


def test_hand_graded_parts_are_pending_after_grading(graded):
    _, out = graded
    alice = rows(out)["alice.ipynb"]
    assert (alice["score"], alice["max_score"], alice["q1"], alice["w1"], alice["q2"]) == ("5", "11", "2", "pending", "pending")
    results = json.loads((out / "alice" / "results.json").read_text())
    # Gradescope: the parts graded by hand are left out until graded; the tests' points are in.
    assert (results["score"], results["max_score"]) == (5, 5)
    assert [t["name"] for t in results["tests"]] == ["1 제곱: y is x squared", "3 합계와 설명: the total"]
    assert [t["max_score"] for t in results["tests"]] == [2, 3]
    assert "6 points graded by hand are waiting for a TA" in results["output"]
    feedback = (out / "alice" / "feedback.md").read_text()
    assert "**Score so far: 5 / 11** (6 points graded by hand are waiting for a TA)" in feedback
    assert "- **2 결과 분석** — 5 points: waiting for a TA" in feedback
    assert "## 3 합계와 설명 — 3 / 3 (tests; the rest is graded by hand)" in feedback
    answers = json.loads((out / "alice" / "answers.json").read_text())
    analysis, plot = answers["w1"]["cells"]
    assert (analysis["id"], analysis["type"], analysis["source"], analysis["answered"]) == ("analysis", "markdown", "손실이 줄어듭니다.", True)
    # The figure the grader's own run drew, not the one saved in the file.
    assert plot["graded_run"] and [o["type"] for o in plot["outputs"]] == ["image"]
    assert plot["outputs"][0]["data"] != png() and plot["outputs"][0]["data"].startswith("iVBOR")


def test_the_students_check_says_a_hand_graded_question_is_left_to_the_ta(course, graded):
    """A question without visible tests is no pass: `check` says who grades it instead of a tick."""
    subs, _ = graded
    checked = course.run("check", str(subs / "alice.ipynb"), "--assignment", "curves")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "✍️ 2 결과 분석: graded by your TA, not by this check" in checked.stdout
    assert "✅ 3 합계와 설명: 1/1 visible tests passed" in checked.stdout  # its tests' part is checked
    assert "0/0" not in checked.stdout and "hidden" not in checked.stdout  # this course has no hidden tests


def test_points_given_by_hand_reach_every_output(graded):
    _, out = graded
    store = ReviewStore(out / "review.sqlite")
    answers = json.loads((out / "alice" / "answers.json").read_text())
    store.give("alice", "w1", 4, "좋아요 <b>but</b> 축 이름이 없음", "ta1", answers["w1"]["hash"])
    store.give("alice", "q2", 1, "", "ta1", answers["q2"]["hash"])
    rewrite_folder(out, store)
    alice = rows(out)["alice.ipynb"]
    assert (alice["score"], alice["w1"], alice["q2"]) == ("10", "4", "4")
    assert rows(out)["bob.ipynb"]["w1"] == "pending"
    results = json.loads((out / "alice" / "results.json").read_text())
    assert (results["score"], results["max_score"]) == (10, 11)
    hand = [t for t in results["tests"] if t["name"].endswith(": graded by hand")]
    assert [(t["number"], t["score"], t["max_score"]) for t in hand] == [("w1", 4, 5), ("q2", 1, 1)]
    feedback = (out / "alice" / "feedback.md").read_text()
    assert "**Score: 10 / 11**" in feedback and "- **2 결과 분석** — 4 / 5" in feedback
    assert "좋아요 &lt;b&gt;but&lt;/b&gt; 축 이름이 없음" in feedback
    graded_nb = nbformat.read(out / "alice" / "graded.ipynb", 4)
    assert graded_nb.cells[0].source == feedback
    assert [(c.grader, c.what, c.points) for c in store.changes()] == [("ta1", "graded", 4.0), ("ta1", "graded", 1.0)]
    store.close()


def test_regrading_keeps_points_of_unchanged_answers_and_flags_changed_ones(course, graded):
    subs, out = graded
    store = ReviewStore(out / "review.sqlite")
    for name in ("alice", "bob"):
        answers = json.loads((out / name / "answers.json").read_text())
        store.give(name, "w1", 3, "ok", "ta1", answers["w1"]["hash"])
    store.close()
    answered(course, subs / "alice.ipynb", square="x ** 2 + 0")           # new file, same written answer
    answered(course, subs / "bob.ipynb", square="x * 2", analysis="다시 썼어요")  # the answer changed
    assert course.run("grade", "curves", str(subs), "--out", str(out)).returncode == 0
    book = rows(out)
    assert book["alice.ipynb"]["w1"] == "3"
    assert book["bob.ipynb"]["w1"] == "pending"
    assert "your answer changed after it was graded" in (out / "bob" / "feedback.md").read_text()
    store = ReviewStore(out / "review.sqlite")
    assert store.scores("bob")[("bob", "w1")].flagged and not store.scores("alice")[("alice", "w1")].flagged
    assert [(c.submission, c.what) for c in store.changes()][-1] == ("bob", "answer changed")
    store.close()


def test_scores_round_trip_through_csv(course, graded, tmp_path):
    _, out = graded
    sheet = tmp_path / "scores.csv"
    assert course.run("review", str(out), "--export", str(sheet)).returncode == 0
    lines = list(csv.reader(sheet.open(encoding="utf-8")))
    assert lines[0] == ["submission", "question", "points", "comment"]
    assert sorted(lines[1:]) == [["alice.ipynb", "q2", "", ""], ["alice.ipynb", "w1", "", ""],
                                 ["bob.ipynb", "q2", "", ""], ["bob.ipynb", "w1", "", ""]]
    sheet.write_text("submission,question,points,comment\nalice.ipynb,w1,4.5,=HYPERLINK(\"x\")\nbob,q2,1,\n", encoding="utf-8")
    assert course.run("report", str(out)).returncode == 0
    result = course.run("review", str(out), "--import", str(sheet), "--grader", "민수")
    assert result.returncode == 0, result.stderr
    assert (rows(out)["alice.ipynb"]["w1"], rows(out)["bob.ipynb"]["q2"]) == ("4.5", "1")
    table = (out / "report.html").read_text().split('id="submissions"')[1]
    assert re.search(r'alice.ipynb</a></td><td class="num">9.5</td>', table)  # the staff report follows
    again = tmp_path / "again.csv"
    assert course.run("review", str(out), "--export", str(again)).returncode == 0
    exported = {(r[0], r[1]): r for r in csv.reader(again.open(encoding="utf-8"))}
    assert exported[("alice.ipynb", "w1")] == ["alice.ipynb", "w1", "4.5", "'=HYPERLINK(\"x\")"]
    with sqlite3.connect(out / "review.sqlite") as db:
        assert db.execute("SELECT grader, what FROM changes").fetchall() == [("민수", "imported")] * 2


def test_a_sheet_whose_row_cannot_be_stored_imports_nothing_and_names_the_row(course, graded, tmp_path):
    """The whole sheet is one transaction: a row the database refuses (here a trigger plays a full disk on
    bob's row, the second) leaves no row of the sheet stored, alice's first row included."""
    _, out = graded
    ReviewStore(out / "review.sqlite").close()
    with sqlite3.connect(out / "review.sqlite") as db:
        db.execute("CREATE TRIGGER full_disk BEFORE INSERT ON scores WHEN NEW.submission = 'bob' "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    sheet = tmp_path / "scores.csv"
    sheet.write_text("submission,question,points,comment\nalice.ipynb,w1,4,fine\nbob.ipynb,w1,3,\n", encoding="utf-8")
    result = course.run("review", str(out), "--import", str(sheet))
    assert result.returncode == 2
    assert f"{sheet}: line 3: nothing imported: this row could not be stored in {out / 'review.sqlite'} " \
           "(database or disk is full)" in result.stderr
    with sqlite3.connect(out / "review.sqlite") as db:
        assert db.execute("SELECT count(*) FROM scores").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM changes").fetchone() == (0,)
    assert rows(out)["alice.ipynb"]["w1"] == "pending"


def test_a_wrong_csv_row_imports_nothing_and_names_each_line(course, graded, tmp_path):
    _, out = graded
    sheet = tmp_path / "scores.csv"
    sheet.write_text("submission,question,points,comment\nalice.ipynb,w1,4,fine\nalice.ipynb,w1,9,too many\n"
                     "carol.ipynb,w1,1,\nbob.ipynb,q1,1,\nbob.ipynb,w1,lots,\n", encoding="utf-8")
    result = course.run("review", str(out), "--import", str(sheet))
    assert result.returncode == 2
    assert "scores.csv: nothing imported: line 3: 9 points for w1, which is worth 0 to 5" in result.stderr
    for text in ("line 4: no graded submission 'carol.ipynb'", "line 5: 'q1' is not a question graded by hand",
                 "line 6: points 'lots' is not a number"):
        assert text in result.stderr
    assert rows(out)["alice.ipynb"]["w1"] == "pending"


def test_hand_graded_config_mistakes_name_the_file_and_question(tmp_path):
    from autograder.config import load_config
    from autograder.errors import ConfigError

    bad = {
        "manual: true": "line 4: question 'w1' is graded by hand but lists no answer cells",
        "rubric: x": "line 4: question 'w1' has 'rubric' but is not graded by hand; add 'manual: true' or remove it",
        "manual: true, cells: [analysis], manual_points: 9": "line 4: question 'w1': manual_points must be between 0 and its points (5)",
    }
    for extra, message in bad.items():
        path = tmp_path / "assignment.yaml"
        path.write_text(f"title: T\nquestions:\n  - {{id: q1, name: a, points: 2}}\n  - {{id: w1, name: b, points: 5, {extra}}}\n")
        with pytest.raises(ConfigError) as error:
            load_config(path)
        assert f"assignment.yaml: {message}" in str(error.value)


def test_a_hand_graded_question_must_name_cells_the_notebook_has(tmp_path):
    course = Course(tmp_path)
    course.add_graded("bad", SOURCE, "title: T\nquestions:\n  - {id: q1, name: a, points: 2}\n"
                                     "  - {id: w1, name: b, points: 5, manual: true, cells: [nowhere]}\n",
                      PROBES, TESTS.split("@pytest.mark.question(\"q2\")")[0])
    course.build("bad")
    result = course.run("grade", "bad", str(tmp_path / "nothing.ipynb"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "assignments/bad/assignment.yaml: question 'w1' names cell 'nowhere', which the student notebook" in result.stderr


def test_only_inert_answer_content_is_kept():
    from autograder.config import AssignmentConfig, Question

    config = AssignmentConfig("t", questions=(Question("w1", "w", 1, manual=True, cells=("a",)),))
    outputs = [{"output_type": "display_data", "data": {"text/html": "<script>alert(1)</script>", "text/plain": "fig"}},
               {"output_type": "display_data", "data": {"image/svg+xml": "<svg onload=alert(1)>"}},
               {"output_type": "display_data", "data": {"image/png": "not base64 !!"}},
               {"output_type": "display_data", "data": {"image/png": png()}},
               {"output_type": "stream", "name": "stdout", "text": "x" * 50_000}]
    raw = json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "id": "a", "source": "plot()", "outputs": outputs}]})
    cell = hand_answers(raw.encode(), config, (("a", "### your code"),))["w1"]["cells"][0]
    kinds = [(o["type"], o.get("mime")) for o in cell["outputs"]]
    assert kinds == [("text", None), ("image", "image/png"), ("text", None)]
    assert "script" not in json.dumps(cell) and "svg" not in json.dumps(cell)
    assert sum(len(o.get("text", "")) for o in cell["outputs"]) <= 20_000


def _write_many(database, writer, count):
    store = ReviewStore(database)
    for index in range(count):
        store.give(f"s{index}", f"w{writer}", index % 5, f"by {writer}", f"ta{writer}", "hash")
    store.close()


def test_concurrent_writers_lose_no_entry(tmp_path):
    """Four processes writing into one review database at once, as four TAs' pages would."""
    import multiprocessing

    database = tmp_path / "review.sqlite"
    ReviewStore(database).close()
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(database, writer, 40)) for writer in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    store = ReviewStore(database)
    scores = store.scores()
    assert len(scores) == 160 and len(store.changes()) == 160
    assert all(scores[(f"s{i}", f"w{w}")].grader == f"ta{w}" for i in range(40) for w in range(4))
    assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    store.close()


def test_file_names_a_spreadsheet_would_confuse_keep_their_own_rows(course, tmp_path):
    """'=1.ipynb and =1.ipynb: once made inert for spreadsheets, the two names must still differ, or a
    TA's points for one land in the other's row and a CSV round trip cannot name either."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    answered(course, subs / "=1.ipynb")
    answered(course, subs / "'=1.ipynb", square="x * 2")
    assert course.run("grade", "curves", str(subs), "--out", str(out)).returncode == 0
    stems = {json.loads((out / stem / "record.json").read_text())["submission"]: stem for stem in ("_1", "__1")}
    store = ReviewStore(out / "review.sqlite")
    answers = json.loads((out / stems["=1.ipynb"] / "answers.json").read_text())
    store.give(stems["=1.ipynb"], "w1", 4, "", "ta1", answers["w1"]["hash"])
    rewrite_folder(out, store)
    store.close()
    book = {plain_text(name): row for name, row in rows(out).items()}
    assert (book["=1.ipynb"]["score"], book["=1.ipynb"]["w1"]) == ("9", "4")
    assert (book["'=1.ipynb"]["score"], book["'=1.ipynb"]["w1"]) == ("0", "pending")
    sheet = tmp_path / "scores.csv"
    assert course.run("review", str(out), "--export", str(sheet)).returncode == 0
    lines = list(csv.reader(sheet.open(encoding="utf-8")))
    filled = [[*line[:2], "2" if (plain_text(line[0]), line[1]) == ("'=1.ipynb", "w1") else line[2], line[3]]
              for line in lines]
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(filled)
    result = course.run("review", str(out), "--import", str(sheet))
    assert result.returncode == 0, result.stderr
    book = {plain_text(name): row for name, row in rows(out).items()}
    assert (book["=1.ipynb"]["w1"], book["'=1.ipynb"]["w1"]) == ("4", "2")


def test_a_sheet_that_is_no_csv_of_scores_is_refused_by_name(course, graded, tmp_path):
    """What a TA might be handed as a sheet: a field larger than csv allows, a folder, a named pipe, a
    huge file; each is refused with the file's name and nothing imported. A long comment is cut."""
    _, out = graded
    header = "submission,question,points,comment\n"
    huge_field = tmp_path / "huge_field.csv"
    huge_field.write_text(header + 'alice.ipynb,w1,4,"' + "x" * 200_000 + '"\n', encoding="utf-8")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    large = tmp_path / "large.csv"
    with large.open("w", encoding="utf-8") as handle:
        handle.write(header + ("alice.ipynb,w1,4,\n" * 1_300_000))
    expected = {huge_field: "huge_field.csv: line 2: not a CSV sheet (field larger than field limit",
                folder: "folder.csv: not a file; give the CSV sheet the export wrote",
                large: "large.csv: 22 MB is too large for a sheet of scores (at most 20 MB)"}
    for sheet, message in expected.items():
        result = course.run("review", str(out), "--import", str(sheet))
        assert (result.returncode, "Traceback" in result.stderr) == (2, False), result.stderr
        assert message in result.stderr
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "review", str(out),
                             "--import", str(pipe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "pipe.csv: not a file" in result.stderr, result.stderr
    assert rows(out)["alice.ipynb"]["w1"] == "pending"
    long = tmp_path / "long.csv"
    long.write_text(header + "alice.ipynb,w1,4," + "긴" * 9000 + "\n", encoding="utf-8")
    assert course.run("review", str(out), "--import", str(long)).returncode == 0
    store = ReviewStore(out / "review.sqlite")
    assert store.scores("alice")[("alice", "w1")].comment == "긴" * 5000
    store.close()


def test_points_for_an_answer_graded_again_while_its_page_was_open_are_not_saved(course, graded):
    """A TA opens bob's answer, the folder is graded again with bob's new answer, the TA saves: the
    points were for an answer that is gone, so nothing is saved and the page shows the new one."""
    from autograder.outputs.review_app import create_app

    subs, out = graded
    store = ReviewStore(out / "review.sqlite")
    client = create_app(out, store, {"secret": "ta1"}).test_client()
    assert client.get("/?token=secret").status_code == 302
    opened = client.get("/grade/bob/w1").get_data(as_text=True)
    form = dict(re.findall(r'name="(csrf|walk|answer)" value="([^"]*)"', opened))
    answered(course, subs / "bob.ipynb", square="x * 2", analysis="다시 썼어요")
    assert course.run("grade", "curves", str(subs), "--out", str(out)).returncode == 0
    saved = client.post("/grade/bob/w1", data={**form, "points": "5", "comment": "잘했어요"})
    assert saved.status_code == 302 and "/grade/bob/w1" in saved.location
    assert ("bob", "w1") not in store.scores()
    again = client.get(saved.location).get_data(as_text=True)
    assert "The answer changed since this page was opened" in again and "다시 썼어요" in again
    form = dict(re.findall(r'name="(csrf|walk|answer)" value="([^"]*)"', again))
    assert client.post("/grade/bob/w1", data={**form, "points": "5"}).status_code == 302
    assert store.scores()[("bob", "w1")].points == 5 and rows(out)["bob.ipynb"]["w1"] == "5"
    store.close()
