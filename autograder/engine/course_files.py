"""The assignment's files as workers see them: a read-only copy holding only those files, made once
per batch, so that a worker's view of the course folder never includes the solution or the settings."""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import AutograderError

_PREFIX = "autograder-files-"


def stage_files(files: Mapping[str, Path]) -> Path | None:
    """Copy `files` (name -> file or folder) into a new folder every user may read and none may change;
    None when there are none. The caller removes it with `remove_staged`."""
    if not files:
        return None
    _remove_stale()
    folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
    try:
        for name, path in files.items():
            target = folder / name
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
            elif path.is_file():
                shutil.copyfile(path, target)
            else:
                raise AutograderError(path, "neither a file nor a folder; assignment files must be one of those")
        _read_only(folder)
    except BaseException:
        remove_staged(folder)
        raise
    return folder


def _read_only(folder: Path) -> None:
    for current, dirs, names in os.walk(folder, topdown=False):
        for name in names:
            os.chmod(os.path.join(current, name), 0o444)
        for name in dirs:
            os.chmod(os.path.join(current, name), 0o555)
    os.chmod(folder, 0o555)


def _remove_stale() -> None:
    """Remove what graders that were killed before they could clean up left staged."""
    for path in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        owner = path.name.removeprefix(_PREFIX).split("-")[0]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            remove_staged(path)


def remove_staged(folder: Path | None) -> None:
    if folder is None:
        return
    for current, dirs, _ in os.walk(folder):
        os.chmod(current, stat.S_IRWXU)
        for name in dirs:
            os.chmod(os.path.join(current, name), stat.S_IRWXU)
    shutil.rmtree(folder, ignore_errors=True)
