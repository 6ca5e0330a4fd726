"""Autograders for other platforms, built from an assignment: a Gradescope autograder.zip."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from .build import Layout
from .files import write_atomically

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry no build time, so the zip is reproducible

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (as root, in /autograder/source).
set -euo pipefail
cd /autograder/source
python3 -m venv /autograder/venv
# The CPU build of torch, pinned: an unpinned torch pulls several GB of CUDA packages.
/autograder/venv/bin/pip install --quiet "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install --quiet .
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


def export_gradescope(root: Path, slug: str, out: Path) -> Path:
    """Write `out/autograder.zip`: Gradescope unpacks it into /autograder/source."""
    layout = Layout(root, slug)
    files: dict[str, bytes] = {
        "setup.sh": SETUP_SH.encode(),
        "run_autograder": RUN_AUTOGRADER.format(slug=slug).encode(),
        "pyproject.toml": (root / "pyproject.toml").read_bytes(),
        "README.md": (root / "README.md").read_bytes(),
    }
    package = Path(__file__).resolve().parent
    for path in sorted(package.glob("*.py")):
        files[f"autograder/{path.name}"] = path.read_bytes()
    for path in (layout.config, layout.student, layout.solution):
        files[str(path.relative_to(root))] = path.read_bytes()
    for path in sorted((root / "graders" / slug).glob("*.py")):
        files[str(path.relative_to(root))] = path.read_bytes()
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
