"""The Otter export, graded by the real otter-grader: `otter run -a autograder.zip submission.ipynb`
gives bundled samples the same points per question as this grader."""
import json
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO

SLUGS = ["attention_basics", "lec27_attention", "transformer_encoder"]


# The samples Otter grades, per assignment: full marks, the unfinished handout, and a mistake; the lab's two
# mistakes leave questions 7, 10, 12 and 14 with part of their points, and its full-marks sample is the one
# without cell ids. One Otter run costs about 8 s of CPU (a Jupyter kernel and a grader of its own), so the other
# samples, which add no new kind of case for the export's question mapping, are graded by `grade` alone.
OTTER_SAMPLES = {"lec27_attention": ["correct_no_cell_ids", "mask_after_softmax", "no_sqrt_scaling", "unfinished"],
                 "attention_basics": ["correct", "unfinished", "wrong_mask_direction"],
                 "transformer_encoder": ["correct", "layernorm_before_residual", "unfinished"]}


def otter_samples(slug: str) -> list[Path]:
    """The samples Otter grades for `slug`."""
    return [REPO / "samples" / slug / f"{name}.ipynb" for name in OTTER_SAMPLES[slug]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """slug -> the folder holding its Otter export (autograder.zip), made once for this file's tests."""
    made = {}

    def export(slug: str) -> Path:
        if slug not in made:
            work = tmp_path_factory.mktemp(f"{slug}-otter")
            result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "export", "otter", slug,
                                     "--out", str(work)], capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            made[slug] = work
        return made[slug]

    return export


@pytest.fixture(params=SLUGS)
def otter_and_ours(request, exported, sample_batch, tmp_path):
    slug = request.param
    archive = exported(slug) / "autograder.zip"
    otter = shutil.which("otter", path=str(Path(sys.executable).parent))
    assert otter, "otter-grader is a dependency (pyproject.toml)"

    def run(sample: Path) -> tuple[str, dict]:
        out = tmp_path / sample.stem
        out.mkdir()
        result = subprocess.run([otter, "run", "-a", str(archive), str(sample), "-o", str(out)],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        tests = json.loads((out / "results.json").read_text())["tests"]
        return sample.name, {t["name"]: t["score"] for t in tests if t["name"] != "Public Tests"}

    with ThreadPoolExecutor(2) as pool:
        otter_scores = dict(pool.map(run, otter_samples(slug)))
    return slug, otter_scores, sample_batch(slug).rows  # ours: the same samples in this session's batch


def test_otter_gives_the_same_points_per_question(otter_and_ours):
    slug, otter_scores, rows = otter_and_ours
    assert set(otter_scores) == {p.name for p in otter_samples(slug)}
    for sample, scores in otter_scores.items():
        questions = [name for name in rows[sample] if name not in ("submission", "score", "max_score")]
        assert set(scores) == set(questions)
        for question in questions:
            assert scores[question] == pytest.approx(float(rows[sample][question]), abs=1e-3), (sample, question)


def test_export_has_one_otter_test_file_per_question(exported):
    names = zipfile.ZipFile(exported("lec27_attention") / "autograder.zip").namelist()
    assert sorted(n for n in names if n.startswith("tests/")) == sorted(f"tests/q{n}.py" for n in range(1, 15))
    assert "files/autograder_course/solutions/lec27_attention.ipynb" in names


# Patches a notebook can make in the kernel where Otter runs its test files.
KERNEL_PATCHES = {
    "patch_the_plugin": "import autograder.otter_plugin as plugin\nplugin.graded = lambda *args: {}",
    "patch_otter": ("from otter.test_files import exception_test\n"
                    "from otter.test_files.abstract_test import TestCaseResult\n"
                    "def run(self, env):\n"
                    "    self.test_case_results = [TestCaseResult(case, None, True) for case in self.test_cases]\n"
                    "exception_test.ExceptionTestFile.run = run"),
}


def test_patching_the_kernel_gains_nothing_under_otter(exported, tmp_path):
    import nbformat

    slug = "attention_basics"
    archive = exported(slug) / "autograder.zip"
    otter = shutil.which("otter", path=str(Path(sys.executable).parent))

    def run(item):
        name, code = item
        nb = nbformat.read(REPO / "samples" / slug / "unfinished.ipynb", 4)
        nb.cells.append(nbformat.v4.new_code_cell(code))
        (tmp_path / name).mkdir()
        nbformat.write(nb, tmp_path / name / "submission.ipynb")
        result = subprocess.run([otter, "run", "-a", str(archive), str(tmp_path / name / "submission.ipynb"),
                                 "-o", str(tmp_path / name)], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        tests = json.loads((tmp_path / name / "results.json").read_text())["tests"]
        return name, sum(t["score"] for t in tests if t["name"] != "Public Tests")

    with ThreadPoolExecutor(2) as pool:
        scores = dict(pool.map(run, KERNEL_PATCHES.items()))
    assert scores == {name: 12.0 for name in KERNEL_PATCHES}  # what `autograder grade` gives the unfinished sample


def test_a_grader_that_cannot_grade_gives_no_score_under_otter(tmp_path):
    """Where the grader cannot work (here: the course Otter should have unpacked beside the submission is
    missing), the plugin stops Otter's run naming why, instead of failing every test: never a 0 for the student."""
    import nbformat
    from otter.test_files import GradingResults

    from autograder.errors import GraderError
    from autograder.otter_plugin import Verdict

    submission = tmp_path / "submission.ipynb"
    nbformat.write(nbformat.read(REPO / "samples" / "attention_basics" / "unfinished.ipynb", 4), submission)
    config = {"slug": "attention_basics", "questions": {"q1": [["q1 - 1", "1: a test", 1.0, False]]}}
    verdict = Verdict(str(submission), None, config)
    with pytest.raises(GraderError) as error:
        verdict.after_grading(GradingResults([]))
    assert "could not grade submission.ipynb under Otter, so no score was given" in str(error.value)
    assert "no assignment 'attention_basics' here" in str(error.value)  # the grader's own words


def test_the_exports_read_the_settings_once(monkeypatch, tmp_path):
    """export_otter and export_gradescope are given the assignment's settings, read once by the caller:
    they do not parse assignment.yaml again (twice, before) for the resources or the language."""
    from autograder.outputs import export
    from autograder.scoring.grader import load_assignment

    assignment = load_assignment(REPO, "attention_basics")

    def read_again(path):
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(export, "load_config", read_again, raising=False)  # if the module reads it again
    gradescope = export.export_gradescope(REPO, "attention_basics", tmp_path / "gradescope", assignment.config)
    assert "assignments/attention_basics/assignment.yaml" in zipfile.ZipFile(gradescope).namelist()
    archive = export.export_otter(REPO, "attention_basics", tmp_path, assignment.suite, assignment.config)
    names = zipfile.ZipFile(archive).namelist()
    assert "files/autograder_course/assignments/attention_basics/assignment.yaml" in names
    assert sorted(n for n in names if n.startswith("tests/")) == [f"tests/b{n}.py" for n in range(1, 10)]
