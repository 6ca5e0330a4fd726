"""The verdict of an Otter export (`autograder export otter`), given by an Otter plugin.

Otter runs its test files inside the student's kernel, where the notebook can patch anything, so
those test files only fail. The points come from `Verdict.after_grading`, which Otter calls in its
own process once the notebook has run: it grades the submitted file with this grader (a separate
`python -m autograder grade`, with its isolation) and puts every test case's outcome and points in
place of whatever the kernel reported. What remains is Otter's own step before it: it unpickles a
file the kernel wrote (see Security in the README).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from otter.plugins import AbstractOtterPlugin
from otter.test_files import GradingResults
from otter.test_files.abstract_test import TestCase, TestCaseResult
from otter.test_files.exception_test import ExceptionTestFile

from .errors import GraderError

COURSE = "autograder_course"  # copied next to the submission by Otter (the zip's files/ folder)
IN_KERNEL = "graded outside the notebook by this autograder's Otter plugin"


class Verdict(AbstractOtterPlugin):
    """Plugin configuration (otter_config.json): {"slug": ..., "questions": {question id: [[test
    name, full name, points, hidden], ...]}}, written by the export."""

    def after_grading(self, results: GradingResults) -> None:
        submission = Path(self.submission_path)
        tests = graded(self.plugin_config["slug"], submission.parent / COURSE, submission)
        files = []
        for question, cases in self.plugin_config["questions"].items():
            test_cases, outcomes = [], []
            for name, full_name, points, hidden in cases:
                case = TestCase(name=name, body=None, hidden=bool(hidden), points=float(points),
                                success_message=None, failure_message=None)
                test = tests.get(full_name)
                passed = test is not None and test["score"] >= test["max_score"] - 1e-9
                message = test["output"] if test is not None else "the grader gave no result for this test"
                test_cases.append(case)
                outcomes.append(TestCaseResult(test_case=case, message=None if passed else message, passed=passed))
            file = ExceptionTestFile(question, f"tests/{question}.py", test_cases, all_or_nothing=False)
            file.test_case_results = outcomes
            files.append(file)
        # The kernel's pickle may hold a subclass or extra state: nothing of it is kept but the notebook.
        fresh = GradingResults(files, notebook=results.notebook)
        results.__class__ = GradingResults
        results.__dict__.clear()
        results.__dict__.update(fresh.__dict__)


def graded(slug: str, course: Path, notebook: Path) -> dict[str, dict]:
    """Test name -> its entry in results.json, from `autograder grade` run on `notebook`.

    When the grader could not do its job (it exits non-zero only then) this raises instead of
    failing every test: `otter run` then stops without results, and no 0 is blamed on the student."""
    with tempfile.TemporaryDirectory(prefix="otter-verdict-") as out:
        result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.resolve()), "grade", slug,
                                 str(notebook.resolve()), "--out", out], capture_output=True, text=True)
        found = sorted(Path(out).glob("*/results.json"))
        if result.returncode != 0 or not found:
            said = result.stderr.strip().splitlines()[-3:] or [f"exit {result.returncode}, no results.json"]
            raise GraderError(f"could not grade {notebook.name} under Otter, so no score was given "
                              f"(`autograder grade` said: {' / '.join(said)})")
        return {test["name"]: test for test in json.loads(found[0].read_text(encoding="utf-8"))["tests"]}
