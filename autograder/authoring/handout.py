"""The student handout: one zip with exactly what a worker sees next to the notebook.

Layout (documented in the README, relied on by `autograder check` on a handout):
`<slug>/<slug>.ipynb`, `<slug>/<slug>_checks.json` when the assignment has notebook checks, and every
assignment file (data, helper modules, folders) under `<slug>/` as in the assignment folder.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ..config import load_config
from ..course import Layout, course_files
from ..errors import AutograderError
from ..files import entry_files

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # no build time inside: the same assignment gives the same bytes


def handout_zip(root: Path, slug: str) -> bytes:
    """The handout's bytes; the student notebook must have been built."""
    layout = Layout(root, slug)
    if not layout.student.is_file():
        raise AutograderError(layout.student, "missing; run 'autograder build' first")
    entries = {f"{slug}/{layout.student.name}": layout.student.read_bytes()}
    if layout.checks.is_file():
        entries[f"{slug}/{layout.checks.name}"] = layout.checks.read_bytes()
    for name, path in course_files(layout, load_config(layout.config).resources).items():
        for shown, file in entry_files(name, path):
            entries[f"{slug}/{shown}"] = file.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    return buffer.getvalue()
