"""Writing results so that a reader never sees a half-written file."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def files_digest(files: Mapping[str, Path]) -> str:
    """One hash of named files and folders, names and contents (the assignment's files, in a cache key)."""
    digest = hashlib.sha256()
    for shown, path in sorted(files.items()):
        entries = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for entry in entries:
            name = shown + "/" + entry.relative_to(path).as_posix() if path.is_dir() else shown
            digest.update(name.encode() + b"\0" + _file_hash(entry))
    return digest.hexdigest()


def _file_hash(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def write_atomically(files: dict[Path, bytes], durable: bool = True) -> None:
    """Write every file or none: all go to temporary siblings first, then each is renamed into place.

    `durable` also flushes them to disk, surviving a machine crash; without it they survive a crash
    of this process, which is what per-submission results need (a rerun regrades what is missing).
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((Path(tmp_name), path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
