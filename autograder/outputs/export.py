"""Autograders for other platforms, built from an assignment: Gradescope's and Otter-Grader's."""
from __future__ import annotations

import importlib.resources
import io
import json
import re
import shlex
import zipfile
from collections.abc import Sequence
from pathlib import Path

from .. import otter_plugin
from ..config import AssignmentConfig, Resource
from ..course import Layout, course_files
from ..files import entry_files, write_atomically
from ..i18n import _, language
from ..requirements import torch_requirement
from ..scoring.points import question_weights, test_points

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry no build time, so the zip is reproducible

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (as root, in /autograder/source).
# `setup.sh --python-only` only finds (or installs) the Python it would use, and names it.
set -euo pipefail
home="${AUTOGRADER_HOME:-/autograder}"
cd "$home/source"
# This package needs Python 3.11 or newer with venv. Gradescope's Ubuntu 22.04 images have Python
# 3.10 as python3; Ubuntu 22.04's own archive has python3.11, installed here when nothing newer is found.
find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
        "$candidate" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}
if ! python="$(find_python)"; then
  echo "setup.sh: $(python3 --version 2>&1) is older than 3.11; installing python3.11 from the Ubuntu archive"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv >/dev/null || true
  if ! python="$(find_python)"; then
    echo "setup.sh: no Python 3.11 or newer could be found or installed. In the autograder settings on" \\
      "Gradescope, choose the Ubuntu 22.04 base image (its archive has python3.11) or one with Python 3.11 or newer." >&2
    exit 1
  fi
fi
echo "setup.sh: using $("$python" --version) ($python)"
if [ "${1:-}" = "--python-only" ]; then
  exit 0
fi
"$python" -m venv "$home/venv"
# The CPU build of torch, pinned: an unpinned torch pulls several GB of CUDA packages.
"$home/venv/bin/pip" install --quiet "{torch}" ${AUTOGRADER_TORCH_INDEX---index-url https://download.pytorch.org/whl/cpu}
"$home/venv/bin/pip" install --quiet ".[course]"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write results/results.json.
set -uo pipefail
home="${{AUTOGRADER_HOME:-/autograder}}"
python="${{AUTOGRADER_PYTHON:-$home/venv/bin/python}}"
mkdir -p "$home/results"
shopt -s nullglob
shopt -s globstar
notebooks=("$home"/submission/**/*.ipynb)
if [ ${{#notebooks[@]}} -eq 0 ]; then
  printf '%s\\n' {no_notebook} > "$home/results/results.json"
  exit 0
fi
out="$(mktemp -d)"
cd "$home/source"
# The course's files (solution, hidden tests) readable by root only: where a worker gets no private
# file system (no namespaces in the container), its own user still cannot read them.
chmod -R go-rwx "$home/source"
# The grader's log (isolation in effect, warnings) goes to this script's output, which Gradescope
# shows to the course staff (results.json keeps it from students: stdout_visibility hidden).
# Every notebook uploaded: `--one` grades the assignment's and says which.
if ! "$python" -m autograder --root "$home/source" grade {slug} "${{notebooks[@]}}" --one --out "$out" 2>&1; then
  # Why is in the log above, for the staff: it names the course's files and tests, so students get none of it.
  printf '%s\\n' {could_not_grade} > "$home/results/results.json"
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
    # Graded outside the kernel (autograder.otter_plugin.Verdict); what runs here earns nothing.
    assert False, {in_kernel!r}
"""


def export_gradescope(root: Path, slug: str, out: Path, config: AssignmentConfig,
                      references: Sequence[Path] = ()) -> Path:
    """Write `out/autograder.zip`: Gradescope unpacks it into /autograder/source. `references`: the
    solution's cached values (scoring/references.py), which spare every submission the solution's run."""
    files: dict[str, bytes] = {
        "setup.sh": SETUP_SH.replace("{torch}", torch_requirement()).encode(),
        "run_autograder": RUN_AUTOGRADER.format(slug=slug, no_notebook=_no_notebook(config.language),
                                                could_not_grade=_could_not_grade(config.language)).encode(),
        "pyproject.toml": (root / "pyproject.toml").read_bytes(),
        "README.md": (root / "README.md").read_bytes(),
    }
    files |= package_sources()
    files |= _course_files(root, slug, "", config.resources)
    files |= _reference_values(root, "", references)
    return _write_zip(files, out)


def _no_notebook(course_language: str) -> str:
    """results.json for a submission without a notebook, in the course's language, quoted for the shell."""
    with language(course_language):
        output = _("No .ipynb file was submitted. Submit your notebook file.")
    return shlex.quote(json.dumps({"score": 0, "output": output, "tests": []}, ensure_ascii=False))


def _could_not_grade(course_language: str) -> str:
    """results.json when the grader itself failed, in the course's language, quoted for the shell;
    why it failed stays in the log, for the staff (it names the course's files and tests)."""
    with language(course_language):
        output = _("The autograder could not grade this submission; tell the course staff.")
    return shlex.quote(json.dumps({"score": 0, "output": output, "stdout_visibility": "hidden", "tests": []},
                                  ensure_ascii=False))


def export_otter(root: Path, slug: str, out: Path, suite, config, references: Sequence[Path] = ()) -> Path:
    """Write `out/autograder.zip` for `otter run -a autograder.zip submission.ipynb` (Otter-Grader 7).

    One Otter test file per question, one test case per hidden test, worth the same points; each
    case takes its outcome from this grader, which must be installed where Otter runs.
    """
    files: dict[str, bytes] = {}
    files |= _course_files(root, slug, f"files/{otter_plugin.COURSE}/", config.resources)
    files |= _reference_values(root, f"files/{otter_plugin.COURSE}/", references)
    # Otter runs the notebook itself too, beside what `files/` holds: its data and helper modules.
    layout = Layout(root, slug)
    for name, path in course_files(layout, config.resources).items():
        for shown, file in entry_files(name, path):
            files[f"files/{shown}"] = file.read_bytes()
    weights = question_weights(list(suite.tests))
    verdicts: dict[str, list] = {}
    for question in config.questions:
        tests = [t for t in suite.tests if t.question == question.id]
        verdicts[question.id] = [[t.name, f"{question.name}: {t.name}", test_points(t, config, weights),
                                  t.visibility == "hidden"] for t in tests]
        cases = [OTTER_CASE.format(name=t.name, points=test_points(t, config, weights), hidden=t.visibility == "hidden",
                                   function=_identifier(t.function_name), in_kernel=otter_plugin.IN_KERNEL)
                 for t in tests]
        files[f"tests/{question.id}.py"] = OTTER_TEST.format(name=question.id, cases="\n\n".join(cases)).encode("utf-8")
    plugin = f"{otter_plugin.__name__}.{otter_plugin.Verdict.__name__}"
    files["otter_config.json"] = (json.dumps({"lang": "python", "plugins": [{plugin: {
        "slug": slug, "questions": verdicts}}]}, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return _write_zip(files, out)


def _course_files(root: Path, slug: str, prefix: str, resources: tuple[Resource, ...]) -> dict[str, bytes]:
    """What grading needs of the course: settings, student and solution notebooks, hidden tests, and
    the assignment's own files (data, helper modules), which workers see next to the notebook; `resources`
    as assignment.yaml lists them."""
    layout = Layout(root, slug)
    paths = [layout.config, layout.student, layout.solution, *layout.grader_sources(),
             *(file for path in layout.assignment_files() for _, file in entry_files(path.name, path))]
    files = {prefix + path.relative_to(root).as_posix(): path.read_bytes() for path in paths}
    # Downloaded resources travel in the course's cache, where the grader finds them by their hash.
    for resource in resources:
        path = course_files(layout, (resource,))[resource.name]
        files[prefix + path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _reference_values(root: Path, prefix: str, references: Sequence[Path]) -> dict[str, bytes]:
    """The cached reference values, where the grader in the export looks for them (its course root)."""
    return {prefix + path.relative_to(root).as_posix(): path.read_bytes() for path in references}


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
