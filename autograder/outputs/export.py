"""Autograders for other platforms, built from an assignment: Gradescope's and Otter-Grader's."""
from __future__ import annotations

import importlib.resources
import io
import re
import zipfile
from pathlib import Path

from ..config import load_config
from ..course import Layout, course_files
from ..files import write_atomically
from ..requirements import torch_requirement
from ..scoring.points import question_weights, test_points

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry no build time, so the zip is reproducible

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (as root, in /autograder/source).
set -euo pipefail
cd /autograder/source
python3 -m venv /autograder/venv
# The CPU build of torch, pinned: an unpinned torch pulls several GB of CUDA packages.
/autograder/venv/bin/pip install --quiet "{torch}" --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install --quiet ".[course]"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write results/results.json.
set -uo pipefail
home="${{AUTOGRADER_HOME:-/autograder}}"
python="${{AUTOGRADER_PYTHON:-$home/venv/bin/python}}"
mkdir -p "$home/results"
shopt -s nullglob
notebooks=("$home"/submission/*.ipynb "$home"/submission/**/*.ipynb)
if [ ${{#notebooks[@]}} -eq 0 ]; then
  printf '%s\\n' '{{"score": 0, "output": "No .ipynb file was submitted. Submit your notebook file.", "tests": []}}' \\
    > "$home/results/results.json"
  exit 0
fi
out="$(mktemp -d)"
cd "$home/source"
if ! "$python" -m autograder --root "$home/source" grade {slug} "${{notebooks[0]}}" --out "$out" > "$out/log.txt" 2>&1; then
  "$python" - "$out/log.txt" "$home/results/results.json" <<'PY'
import json, sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()[-3000:]
json.dump({{"score": 0, "output": "The autograder could not grade this submission; tell the course staff.\\n\\n" + log,
           "tests": []}}, open(sys.argv[2], "w"))
PY
  exit 0
fi
cp "$out"/*/results.json "$home/results/results.json"
"""


OTTER_TEST = """from otter.test_files import test_case

OK_FORMAT = False

name = {name!r}

{cases}
"""
OTTER_CASE = """@test_case(name={name!r}, points={points!r}, hidden={hidden!r})
def {function}(env):
    from autograder.otter_bridge import outcome
    passed, message = outcome({slug!r}, {full_name!r})
    assert passed, message
"""


def export_gradescope(root: Path, slug: str, out: Path) -> Path:
    """Write `out/autograder.zip`: Gradescope unpacks it into /autograder/source."""
    files: dict[str, bytes] = {
        "setup.sh": SETUP_SH.replace("{torch}", torch_requirement()).encode(),
        "run_autograder": RUN_AUTOGRADER.format(slug=slug).encode(),
        "pyproject.toml": (root / "pyproject.toml").read_bytes(),
        "README.md": (root / "README.md").read_bytes(),
    }
    files |= package_sources()
    files |= _course_files(root, slug, "")
    return _write_zip(files, out)


def export_otter(root: Path, slug: str, out: Path, suite, config) -> Path:
    """Write `out/autograder.zip` for `otter run -a autograder.zip submission.ipynb` (Otter-Grader 7).

    One Otter test file per question, one test case per hidden test, worth the same points; each
    case takes its outcome from this grader, which must be installed where Otter runs.
    """
    files: dict[str, bytes] = {"otter_config.json": b'{"lang": "python"}\n'}
    files |= _course_files(root, slug, "files/autograder_course/")
    weights = question_weights(list(suite.tests))
    for question in config.questions:
        cases = [OTTER_CASE.format(name=t.name, points=test_points(t, config, weights),
                                   hidden=t.visibility == "hidden", function=_identifier(t.function_name), slug=slug,
                                   full_name=f"{question.name}: {t.name}")
                 for t in suite.tests if t.question == question.id]
        files[f"tests/{question.id}.py"] = OTTER_TEST.format(name=question.id, cases="\n\n".join(cases)).encode("utf-8")
    return _write_zip(files, out)


def _course_files(root: Path, slug: str, prefix: str) -> dict[str, bytes]:
    """What grading needs of the course: settings, student and solution notebooks, hidden tests, and
    the assignment's own files (data, helper modules), which workers see next to the notebook."""
    layout = Layout(root, slug)
    paths = [layout.config, layout.student, layout.solution, *layout.grader_sources(), *_walk(layout.assignment_files())]
    files = {prefix + path.relative_to(root).as_posix(): path.read_bytes() for path in paths}
    # Downloaded resources travel in the course's cache, where the grader finds them by their hash.
    for resource in load_config(layout.config).resources:
        path = course_files(layout, (resource,))[resource.name]
        files[prefix + path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _walk(paths: list[Path]) -> list[Path]:
    """Files, and the files inside folders (Python caches left out)."""
    return [f for p in paths for f in ([p] if p.is_file() else sorted(
        q for q in p.rglob("*") if q.is_file() and "__pycache__" not in q.parts))]


def _identifier(name: str) -> str:
    """A Python name for a test case (a parametrized test's name has brackets)."""
    return re.sub(r"\W", "_", name)


def package_sources() -> dict[str, bytes]:
    """This package's source files, by their path inside it (`autograder/...`), to install it elsewhere."""
    files: dict[str, bytes] = {}

    def walk(folder, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir() and entry.name != "__pycache__":
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.is_file() and entry.name.endswith((".py", ".mo", ".po", ".json", ".html", ".css", ".js")):
                files[prefix + entry.name] = entry.read_bytes()

    walk(importlib.resources.files("autograder"), "autograder/")
    return files


def _write_zip(files: dict[str, bytes], out: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    target = out / "autograder.zip"
    write_atomically({target: buffer.getvalue()})
    return target
