"""The staff report on a small course: figures per question and per test, failures linked to their
submissions, unreadable files apart, similarity that flags a renamed copy but none of five honest
notebooks written in different styles, names that are HTML or mathematics, and bounded cost."""
import csv
import json
import re
import shutil
import statistics

import nbformat
import pytest
from conftest import Course, notebook
from playwright.sync_api import sync_playwright

CONFIG = """title: "통계 함수"
questions:
  - {id: m, name: "1 평균 $\\\\mu$", points: 2}
  - {id: v, name: "2 분산", points: 2}
  - {id: z, name: "3 표준화", points: 2}
  - {id: a, name: "4 이동 평균", points: 2}
"""
PROBES = '''
from autograder.probes import Probes, need
probes = Probes()

@probes.at_end
def results(ns):
    data = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    found = {}
    for name, call in (("mean", lambda f: f(data)), ("variance", lambda f: f(data)),
                       ("normalize", lambda f: [round(x, 6) for x in f(data)]),
                       ("moving_average", lambda f: [round(x, 6) for x in f(data, 3)])):
        try:
            found[name] = call(need(ns, name))
        except Exception as exc:
            found[name] = f"error: {type(exc).__name__}"
    return found
'''
TESTS = '''
import pytest
from autograder.testing import expect_same

@pytest.mark.question("m")
def test_mean(student, reference):
    """mean of a list"""
    assert student["results"]["mean"] == pytest.approx(reference["results"]["mean"])

@pytest.mark.question("v")
def test_variance(student, reference):
    """population variance"""
    assert student["results"]["variance"] == pytest.approx(reference["results"]["variance"])

@pytest.mark.question("z")
@pytest.mark.hidden
def test_normalize(student, reference):
    """z-scores"""
    assert student["results"]["normalize"] == pytest.approx(reference["results"]["normalize"])

@pytest.mark.question("a")
def test_moving_average(student, reference):
    """moving average of width k"""
    assert student["results"]["moving_average"] == pytest.approx(reference["results"]["moving_average"])
'''
# The solution, and four more honest notebooks, each written in its own style.
STYLES = {
    "solution": [
        "def mean(xs):\n    return sum(xs) / len(xs)  # SOLUTION",
        "def variance(xs):\n    m = mean(xs)  # SOLUTION\n    return sum((x - m) ** 2 for x in xs) / len(xs)  # SOLUTION",
        "def normalize(xs):\n    ### BEGIN SOLUTION\n    m = mean(xs)\n    s = variance(xs) ** 0.5\n    return [(x - m) / s for x in xs]\n    ### END SOLUTION",
        "def moving_average(xs, k):\n    ### BEGIN SOLUTION\n    return [sum(xs[i:i + k]) / k for i in range(len(xs) - k + 1)]\n    ### END SOLUTION",
    ],
    "loops": [
        "def mean(xs):\n    total = 0.0\n    count = 0\n    for x in xs:\n        total += x\n        count += 1\n    return total / count",
        "def variance(xs):\n    centre = mean(xs)\n    acc = 0.0\n    for x in xs:\n        diff = x - centre\n        acc += diff * diff\n    return acc / len(xs)",
        "def normalize(xs):\n    out = []\n    centre = mean(xs)\n    sd = variance(xs) ** 0.5\n    for x in xs:\n        out.append((x - centre) / sd)\n    return out",
        "def moving_average(xs, k):\n    result = []\n    for start in range(0, len(xs) - k + 1):\n        window = 0.0\n        for j in range(start, start + k):\n            window += xs[j]\n        result.append(window / k)\n    return result",
    ],
    "running": [
        "def mean(xs):\n    import math\n    return math.fsum(xs) / float(len(xs))",
        "def variance(xs):\n    n = len(xs)\n    square_mean = sum(x * x for x in xs) / n\n    return square_mean - mean(xs) ** 2",
        "def normalize(xs):\n    import math\n    mu, sigma = mean(xs), math.sqrt(variance(xs))\n    return list(map(lambda x: (x - mu) / sigma, xs))",
        "def moving_average(xs, k):\n    sums = [0.0]\n    for x in xs:\n        sums.append(sums[-1] + x)\n    return [(sums[i + k] - sums[i]) / k for i in range(len(xs) - k + 1)]",
    ],
    "numpyish": [
        "def mean(xs):\n    import statistics\n    return statistics.fmean(xs)",
        "def variance(xs):\n    import statistics\n    return statistics.pvariance(xs)",
        "def normalize(xs):\n    import statistics\n    c = statistics.fmean(xs)\n    spread = statistics.pstdev(xs)\n    if spread == 0:\n        raise ValueError('constant data')\n    return [(value - c) / spread for value in xs]",
        "def moving_average(xs, k):\n    from collections import deque\n    window, out = deque(), []\n    for x in xs:\n        window.append(x)\n        if len(window) > k:\n            window.popleft()\n        if len(window) == k:\n            out.append(sum(window) / k)\n    return out",
    ],
    "recursive": [
        "def mean(xs):\n    def total(items):\n        return 0 if not items else items[0] + total(items[1:])\n    return total(list(xs)) / len(xs)",
        "def variance(xs):\n    avg = mean(xs)\n    deviations = [(value - avg) ** 2 for value in xs]\n    return mean(deviations)",
        "def normalize(xs):\n    avg, dev = mean(xs), variance(xs) ** 0.5\n    scaled = []\n    i = 0\n    while i < len(xs):\n        scaled.append((xs[i] - avg) / dev)\n        i += 1\n    return scaled",
        "def moving_average(xs, k):\n    windows = zip(*(xs[shift:] for shift in range(k)))\n    return [mean(list(w)) for w in windows]",
    ],
}
# The "loops" notebook copied, with new names, comments and another layout.
COPY = [
    "def mean(values):\n    # add them up\n    s = 0.0\n    n = 0\n    for v in values:\n        s += v\n        n += 1\n    return s / n",
    "def variance(values):\n    mid = mean(values)\n    total = 0.0\n    for v in values:\n        d = v - mid\n        total += d * d   # squared\n    return total / len(values)",
    "def normalize(values):\n    res = []\n    mid = mean(values)\n    dev = variance(values) ** 0.5\n    for v in values:\n        res.append((v - mid) / dev)\n    return res",
    "def moving_average(values, width):\n    answer = []\n    for b in range(0, len(values) - width + 1):\n        acc = 0.0\n        for idx in range(b, b + width):\n            acc += values[idx]\n        answer.append(acc / width)\n    return answer",
]
HOSTILE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> '
           '![seen](http://127.0.0.1:9/pixel.png) $\\href{javascript:window.__pwned=3}{x}$')
CELLS = ["mean-cell", "variance-cell", "normalize-cell", "average-cell"]


def write(course, path, answers):
    nb = nbformat.read(course.student("stats"), 4)
    for cell in nb.cells:
        if cell.id in CELLS and answers[CELLS.index(cell.id)] is not None:
            cell.source = answers[CELLS.index(cell.id)]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = Course(root)
    source = notebook(("code", "data = [1.0, 2.0]"), *(("code", answer) for answer in STYLES["solution"]))
    for cell, cell_id in zip(source.cells, ["setup", *CELLS]):
        cell.id = cell_id
    course.add_graded("stats", source, CONFIG, PROBES, TESTS)
    course.build()
    subs = root / "subs"
    subs.mkdir()
    for style, answers in STYLES.items():
        if style != "solution":
            write(course, subs / f"{style}.ipynb", answers)
    solution = nbformat.read(course.solution("stats"), 4)
    write(course, subs / "solution_style.ipynb", [c.source for c in solution.cells if c.id in CELLS])
    write(course, subs / "renamed_copy.ipynb", COPY)
    # Names that are HTML or mathematics, and one that is the report's own file name.
    shutil.copy(course.student("stats"), subs / "report.html.ipynb")
    shutil.copy(course.student("stats"), subs / "slow $\\foo$.ipynb")
    broken = [None, f"def variance(xs):\n    return 0.0\n\nraise ValueError({HOSTILE!r})", None, None]  # the rest left unanswered
    write(course, subs / "<b>bold<b>.ipynb", broken)
    (subs / "unreadable.ipynb").write_text("{ not json")
    out = root / "out"
    result = course.run("grade", "stats", str(subs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    made = course.run("report", str(out))
    assert made.returncode == 0, made.stderr
    return out


def section(page, title):
    return page.split(f"<h2>{title}</h2>")[1].split("<h2>")[0]


def test_a_renamed_copy_is_flagged_and_honest_styles_are_not(report):
    pairs = section((report / "report.html").read_text(), "Answer code suspiciously alike")
    rows = re.findall(r"<tr><td[^>]*>(\d+)%</td><td><a[^>]*>(.*?)</a></td><td><a[^>]*>(.*?)</a></td>", pairs)
    assert [(a, b) for _, a, b in rows] == [("loops.ipynb", "renamed_copy.ipynb")]
    assert int(rows[0][0]) >= 80


def grades(report):
    with (report / "grades.csv").open(encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["submission"] != "unreadable.ipynb"]


def test_each_question_has_its_figures_and_each_test_its_pass_rate(report):
    page = (report / "report.html").read_text()
    values = [float(r["v"]) for r in grades(report)]
    assert len(values) == 9 and values.count(2.0) == 6   # three left variance unanswered or raising
    row = next(r for r in section(page, "Questions").split("<tr>") if "2 분산" in r)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells == ["2", "9", f"{statistics.fmean(values):.2f}", "2", f"{statistics.pstdev(values):.2f}", "0–2", "67%"]
    assert "1 평균 $\\mu$" in section(page, "Questions")
    tests = section(page, "Tests")
    assert re.search(r"2 분산: population variance</td><td class=\"num\">6 / 9</td><td class=\"num\">67%</td>", tests)
    assert re.search(r"3 표준화: z-scores</td><td class=\"num\">6 / 9</td>", tests)


def test_unreadable_files_are_counted_apart(report):
    header = (report / "report.html").read_text().split("<h2>")[0]
    assert "10 submissions · 9 graded" in header and "1 could not be graded" in header
    scores = [float(r["score"]) for r in grades(report)]
    mean = float(re.search(r"· mean ([\d.]+) / 8", header).group(1))
    assert mean == pytest.approx(sum(scores) / len(scores), abs=0.05)


def test_a_common_failure_links_to_the_submissions_that_have_it(report):
    failures = section((report / "report.html").read_text(), "Most common failures")
    rows = [r for r in failures.split("<tr>") if "2 분산: population variance" in r]
    assert len(rows) == 2  # not answered (twice), and a ValueError
    links = [link for row in rows for link in re.findall(r'<a href="([^"]+)/feedback.html">(.*?)</a>', row)]
    assert sorted(name for _, name in links) == ["&lt;b&gt;bold&lt;b&gt;.ipynb", "report.html.ipynb", "slow $\\foo$.ipynb"]
    for folder, _ in links:
        assert (report / folder / "feedback.html").is_file()


def test_names_that_are_html_or_mathematics_are_shown_as_text(report):
    page = (report / "report.html").read_text()
    assert "<b>bold<b>" not in page and "&lt;b&gt;bold&lt;b&gt;.ipynb" in page
    assert (report / "report.html").is_file() and (report / "report_html" / "feedback.html").is_file()
    assert json.loads((report / "report_html" / "record.json").read_text())["submission"] == "report.html.ipynb"


def test_a_script_in_an_error_message_does_not_run_in_any_page(report):
    pages = [report / "report.html", report / "_b_bold_b_" / "feedback.html"]
    assert HOSTILE.split(">")[0] in (report / "_b_bold_b_" / "feedback.md").read_text()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        dialogs: list[str] = []
        for path in pages:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            outside: list[str] = []
            blocked: list[str] = []
            page.on("request", lambda request, seen=outside: None if request.url.startswith(("file:", "data:"))
                    else seen.append(request.url))
            page.on("requestfailed", lambda request, seen=blocked: seen.append(request.url)
                    if request.failure == "csp" else None)
            page.goto(path.as_uri(), wait_until="load")
            assert page.evaluate("() => window.__pwned") is None and dialogs == [], path
            # Nothing is loaded from elsewhere (the page's policy refuses it, whether or not there is a network):
            # no CDN script acting on student text, no image a student's message names.
            assert outside == blocked, path
        page = browser.new_page()
        page.goto((report / "report.html").as_uri())
        page.fill("#filter", "copy")
        visible = page.locator("#submissions tbody tr:visible td:first-child").all_inner_texts()
        assert visible == ["renamed_copy.ipynb"]
        page.fill("#filter", "")
        page.click("#submissions th:nth-child(2)")
        page.click("#submissions th:nth-child(2)")
        scores = [float(t) for t in page.locator("#submissions tbody td:nth-child(2)").all_inner_texts()]
        assert scores == sorted(scores, reverse=True) and len(scores) == 10
        browser.close()


def test_the_reports_cost_is_bounded_by_what_it_shows(report, tmp_path):
    """30,000 short cells: the feedback page shows the first 400 and says how many more there are."""
    folder = tmp_path / "big"
    shutil.copytree(report, folder)
    graded = folder / "loops" / "graded.ipynb"
    data = json.loads(graded.read_text())
    data["cells"] += [{"cell_type": "code", "id": f"x{i}", "execution_count": None, "outputs": [], "source": f"x{i} = {i}",
                       "metadata": {"autograder": {"origin": "extra", "status": "ok", "cell": f"extra-{i}"}}}
                      for i in range(30_000)]
    graded.write_text(json.dumps(data))
    from autograder.outputs.staff_report import write_report

    write_report(folder)
    page = (folder / "loops" / "feedback.html").read_text()
    assert "more cells are not shown here; open graded.ipynb for all" in page
    assert page.count("x29999") == 0 and len(page) < 3_000_000
