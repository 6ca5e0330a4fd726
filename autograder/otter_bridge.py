"""Used by the test files of an Otter export (`autograder export otter`): each Otter test case asks
this grader for the outcome of the hidden test it stands for.

Otter runs its tests inside the student's kernel, so the grading itself happens in a separate,
fresh interpreter (`python -m autograder grade`), with this grader's isolation; the kernel only
reads the results back.
"""
from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

COURSE = "autograder_course"  # copied next to the submission by Otter (the zip's files/ folder)


def outcome(slug: str, test_name: str) -> tuple[bool, str]:
    """(passed, message) of the test named `test_name` for the notebook in the current folder."""
    notebooks = sorted(Path.cwd().glob("*.ipynb"))
    if not notebooks:
        return False, "no notebook found to grade"
    tests = _graded(slug, str(Path(COURSE).resolve()), str(notebooks[0].resolve()))
    if test_name not in tests:
        return False, f"the grader gave no result for '{test_name}'"
    test = tests[test_name]
    return test["score"] >= test["max_score"] - 1e-9, test["output"]


@functools.cache
def _graded(slug: str, course: str, notebook: str) -> dict[str, dict]:
    out = tempfile.mkdtemp(prefix="otter-bridge-")
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", course, "grade", slug, notebook,
                             "--out", out], capture_output=True, text=True)
    if result.returncode != 0:
        return {}
    results = json.loads(next(Path(out).glob("*/results.json")).read_text(encoding="utf-8"))
    return {test["name"]: test for test in results["tests"]}
