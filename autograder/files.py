"""Writing results so that a reader never sees a half-written file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
