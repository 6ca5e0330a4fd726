"""Writing results so that a reader never sees a half-written file."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def files_digest(paths: Iterable[Path]) -> str:
    """One hash of files and folders, names and contents (the assignment's files, in a cache key)."""
    digest = hashlib.sha256()
    for path in paths:
        entries = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for entry in entries:
            name = entry.relative_to(path.parent).as_posix()
            digest.update(name.encode() + b"\0" + hashlib.sha256(entry.read_bytes()).digest())
    return digest.hexdigest()


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
