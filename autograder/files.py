"""Writing results so that a reader never sees a half-written file, and the right people can read it;
hashing the files a cache key or a fingerprint depends on."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Read once, while the process is still single-threaded: os.umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def files_digest(files: Mapping[str, Path]) -> str:
    """One hash of named files and folders, names and contents (the assignment's files, in a cache key)."""
    digest = hashlib.sha256()
    for shown, path in sorted(files.items()):
        for name, entry in entry_files(shown, path):
            digest.update(name.encode() + b"\0" + bytes.fromhex(sha256_of(entry)))
    return digest.hexdigest()


def entry_files(name: str, path: Path) -> list[tuple[str, Path]]:
    """(name beside the notebook, file) for one assignment file or folder: a folder stands for the files
    inside it, Python caches and hidden entries left out, as the workers' staged copy leaves them out."""
    if not path.is_dir():
        return [(name, path)]
    inside = ((file.relative_to(path), file) for file in path.rglob("*") if file.is_file())
    return sorted((f"{name}/{relative.as_posix()}", file) for relative, file in inside
                  if not any(part == "__pycache__" or part.startswith(".") for part in relative.parts))


_hashes: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """A file's SHA-256, read once per process for an unchanged file (resources can be large, and the
    fingerprint and both reference cache keys hash the same files)."""
    status = path.stat()
    key = (str(path), status.st_size, status.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def write_atomically(files: dict[Path, bytes], durable: bool = True) -> None:
    """Write every file or none: all go to temporary siblings first, then each is renamed into place.

    `durable` also flushes them to disk, surviving a machine crash; without it they survive a crash
    of this process, which is what per-submission results need (a rerun regrades what is missing).
    Files and the folders made for them are readable by the group, and under `sudo` belong to the
    user who ran sudo (see `owner`), so that a TA or a CI step running as that user can read them.
    """
    owner = output_owner()
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            make_folders(path.parent, owner)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((Path(tmp_name), path))
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(fd, (0o666 & ~_UMASK) | 0o640)  # mkstemp makes 0600 files
                if owner is not None:
                    os.fchown(fd, *owner)
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


def make_folders(folder: Path, owner: tuple[int, int] | None = None) -> None:
    """mkdir -p, giving each folder it makes the same readers as the files written into it."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for made in reversed(missing):
        try:
            made.mkdir()
        except FileExistsError:
            if not made.is_dir():
                raise
            continue  # made meanwhile by another thread of the batch
        os.chmod(made, (0o777 & ~_UMASK) | 0o750)
        if owner is not None:
            os.chown(made, *owner)


def output_owner() -> tuple[int, int] | None:
    """(uid, gid) of the user who ran `sudo autograder ...`, when running as root under sudo; else None."""
    if os.geteuid() != 0:
        return None
    try:
        uid, gid = int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", os.environ["SUDO_UID"]))
    except (KeyError, ValueError):
        return None
    return (uid, gid) if uid > 0 else None
