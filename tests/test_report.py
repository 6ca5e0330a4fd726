"""The staff report: plots, common failures, alike answers, per-submission pages, and how it looks
in a real browser (headless Chromium renders it to a PNG that must show the page's content)."""
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import REPO
from PIL import Image, ImageStat

SAMPLES = REPO / "samples" / "lec27_attention"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def autograder(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def graded(sample_batch, tmp_path_factory):
    """The lab's samples as graded in the session's batch, copied without the batch's two other files (the
    report writes into the folder it reports on, and counts what it holds), then reported on."""
    batch = sample_batch("lec27_attention")
    out = tmp_path_factory.mktemp("report") / "graded"
    shutil.copytree(batch.out, out, ignore=lambda _, names: [n for n in names if n in ("lec27_attention-blank", "context_unanswered")])
    book = (batch.out / "grades.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (out / "grades.csv").write_text("".join(line for line in book if not line.startswith(("lec27_attention-blank.", "context_unanswered."))),
                                    encoding="utf-8")
    result = autograder("report", out)
    assert result.returncode == 0, result.stderr
    return out


def test_report_has_the_three_plots_and_every_submission(graded):
    page = (graded / "report.html").read_text()
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', page)) == 3
    for name in ("score distribution", "pass rate per question", "slowest submissions"):
        assert f'alt="{name}"' in page
    for sample in SAMPLES.iterdir():
        assert sample.name in page
    assert "9 submissions" in page and "1 could not be graded" in page


def test_common_failures_show_the_real_reasons_to_staff(graded):
    page = (graded / "report.html").read_text()
    failures = page.split("Most common failures")[1].split("Answer code suspiciously alike")[0]
    assert "가장 큰 차이는" in failures
    assert "이 숨은 테스트를 통과하지 못했습니다" not in failures, "staff see why hidden tests fail"


def test_alike_answers_are_paired_even_when_renamed(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("correct", "unfinished"):
        shutil.copy(SAMPLES / f"{name}.ipynb", subs / f"{name}.ipynb")
    nb = nbformat.read(SAMPLES / "correct.ipynb", 4)
    cell = next(c for c in nb.cells if c.get("id") == "softmax-naive")
    cell.source = cell.source.replace("def softmax_naive(x):\n    return torch.exp(x) / torch.exp(x).sum(dim=0)",
                                      "def softmax_naive(values):   # my own version\n\n    return torch.exp(values)/torch.exp(values).sum(dim=0)")
    assert "values" in cell.source
    nbformat.write(nb, subs / "renamed_copy.ipynb")
    out = tmp_path / "out"
    assert autograder("grade", "lec27_attention", subs, "--out", out).returncode == 0
    assert autograder("report", out).returncode == 0
    pairs = (out / "report.html").read_text().split("Answer code suspiciously alike")[1].split("<h2>")[0]
    rows = re.findall(r"<tr><td[^>]*>(\d+)%</td><td>(.*?)</td><td>(.*?)</td>", pairs)
    named = [(int(score), re.sub("<[^>]+>", "", a), re.sub("<[^>]+>", "", b)) for score, a, b in rows]
    assert named == [(100, "correct.ipynb", "renamed_copy.ipynb")]


def test_samples_sharing_the_handed_out_code_are_not_paired(graded):
    """The lab's samples all build on the released notebook (and on one solution): none stands out."""
    pairs = (graded / "report.html").read_text().split("Answer code suspiciously alike")[1].split("<h2>")[0]
    assert "No pair stands out." in pairs


def test_each_submission_gets_a_rendered_feedback_page(graded):
    page = (graded / "no_sqrt_scaling" / "feedback.html").read_text()
    assert "jp-Notebook" in page  # rendered by nbconvert
    assert "점수: 36.5 / 44" in page
    assert "attn_weights_2: 값 6개 중 6개가 다릅니다" in page
    assert 'href="no_sqrt_scaling/feedback.html"' in (graded / "report.html").read_text()


def test_report_renders_in_headless_chromium(graded, tmp_path):
    assert shutil.which("chromium"), "headless Chromium is needed for this test: apt-get install chromium"
    shot = tmp_path / "report.png"
    subprocess.run([*CHROMIUM, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
                    f"--screenshot={shot}", (graded / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1600)
    # A blank or broken page is one flat colour; the plots add blue, green and red areas.
    assert max(ImageStat.Stat(image).stddev) > 30
    colours = image.resize((64, 80)).getcolors(64 * 80)
    assert len(colours) > 50


def test_feedback_sits_beside_the_answer_it_concerns(graded):
    notebook = nbformat.read(graded / "no_sqrt_scaling" / "graded.ipynb", 4)
    nbformat.validate(notebook)
    cells = notebook.cells
    answer = next(i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.startswith("d_k = keys.shape[1]"))
    beside = cells[answer + 1]
    assert beside.cell_type == "markdown"
    assert "❌" in beside.source and "점수를 sqrt(d_k)로 나눈 뒤의 소프트맥스" in beside.source
    assert "기대값 0.2264, 실제값 0.2507" in beside.source
    hidden = next(c.source for c in cells if c.cell_type == "markdown" and "주어진 가중치와 처음 보는 입력에서의 SelfAttention_v1" in c.source)
    assert "이 숨은 테스트를 통과하지 못했습니다" in hidden
