"""Read a notebook file from disk, turning every way it can be broken into one clear error."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .errors import Location, NotebookReadError
from .i18n import _

_CELL_TYPES = ("code", "markdown", "raw")
# What the student notebook holds where an answer goes.
PLACEHOLDER = "### your code"


def read_notebook(path: Path, raw: bytes | None = None) -> NotebookNode:
    """Parse and validate a .ipynb file (older v4 minors and v3 are upgraded to v4)."""
    text, _data = _parse(path, raw)
    invalid: dict = {}
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error=invalid)  # validates once
    except Exception as exc:  # nbformat raises several types for malformed structure
        raise NotebookReadError(path, _("not a valid notebook: {problem}").format(problem=exc)) from None
    if invalid.get("ValidationError") is not None:
        raise NotebookReadError(path, _("not a valid notebook: {problem}").format(problem=invalid["ValidationError"].message))
    return nb


def read_submission(path: Path, raw: bytes | None = None) -> NotebookNode:
    """The cells of a submission (type, id, source; no outputs): what grading reads, checked quickly.

    A v4 notebook whose cells have the expected shape is taken as it is: the schema check of the
    whole file (outputs included) costs more than grading the rest of it, and a flaw in a part
    grading never reads should not cost a student their grade. Anything unusual goes through
    read_notebook, which upgrades old formats and names what is wrong.
    """
    text, data = _parse(path, raw)
    cells = data.get("cells")
    if data.get("nbformat") == 4 and isinstance(cells, list) and all(map(_plain_cell, cells)):
        return NotebookNode(nbformat=4, nbformat_minor=data.get("nbformat_minor"), cells=[
            NotebookNode(cell_type=c["cell_type"], id=c.get("id"), source=cell_text(c["source"])) for c in cells])
    return read_notebook(path, raw)


def _plain_cell(cell) -> bool:
    if not isinstance(cell, dict) or cell.get("cell_type") not in _CELL_TYPES:
        return False
    source, cell_id = cell.get("source"), cell.get("id")
    return (isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)) \
        and (cell_id is None or isinstance(cell_id, str))


def cell_text(source: str | list[str]) -> str:
    """A cell's source as one string: notebooks store it as a string or as a list of lines."""
    return source if isinstance(source, str) else "".join(source)


def notebook_bytes(path: Path, max_bytes: int | None = None, regular_only: bool = False) -> bytes:
    """A notebook file's content, or an error a student can act on (missing, a folder, too large).

    `regular_only` (submissions): a symbolic link or a special file is refused without reading
    through it, since a link among submissions may point at the solution or another student's file.
    """
    try:
        if regular_only:
            return _regular_file_bytes(path, max_bytes)
        if max_bytes is not None and (size := path.stat().st_size) > max_bytes:
            raise _too_large(path, size, max_bytes)
        return path.read_bytes()
    except FileNotFoundError:
        raise NotebookReadError(path, _("file not found")) from None
    except IsADirectoryError:
        raise NotebookReadError(path, _("is a folder, not a notebook file")) from None
    except OSError as exc:
        raise NotebookReadError(path, _("cannot be read ({reason})").format(reason=exc.strerror or exc)) from None


def _regular_file_bytes(path: Path, max_bytes: int | None) -> bytes:
    kind = _special_kind(os.lstat(path).st_mode)
    if kind:
        raise NotebookReadError(path, _("is {kind}, not a notebook file; only regular files are graded "
                                        "(nothing was read through it)").format(kind=kind))
    # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a pipe since the check is not followed or waited on.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise NotebookReadError(path, _("changed into a special file while being read; only regular files are graded"))
        if max_bytes is not None and status.st_size > max_bytes:
            raise _too_large(path, status.st_size, max_bytes)
        data = handle.read(max_bytes + 1) if max_bytes is not None else handle.read()
    if max_bytes is not None and len(data) > max_bytes:
        raise _too_large(path, len(data), max_bytes)
    return data


def _special_kind(mode: int) -> str | None:
    """How a file that is not a regular file is named to a user, or None for a regular file."""
    for test, kind in ((stat.S_ISLNK, _("a symbolic link")), (stat.S_ISDIR, _("a folder")),
                       (stat.S_ISFIFO, _("a named pipe")), (stat.S_ISSOCK, _("a socket")), (stat.S_ISCHR, _("a device")),
                       (stat.S_ISBLK, _("a device"))):
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else _("a special file")


def _too_large(path: Path, size: int, max_bytes: int) -> NotebookReadError:
    return NotebookReadError(path, _("is {size} MB; notebooks over {limit} MB are not graded "
                                     "(clear large outputs and save again)").format(size=size >> 20, limit=max_bytes >> 20))


def _parse(path: Path, raw: bytes | None) -> tuple[str, dict]:
    """The file's text and JSON, or a NotebookReadError saying what is wrong with it."""
    if raw is None:
        raw = notebook_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookReadError(path, _("not UTF-8 text (bad byte at offset {offset}); "
                                        "save the notebook from Jupyter again").format(offset=exc.start)) from None
    if not text.strip():
        raise NotebookReadError(path, _("the file is empty"))
    try:
        data = json.loads(text)
    except RecursionError:
        raise NotebookReadError(path, _("its JSON is nested too deeply to be a notebook (lists or objects inside "
                                        "each other thousands of times); save the notebook from Jupyter again")) from None
    except json.JSONDecodeError as exc:
        if path.suffix.lower() != ".ipynb":
            raise NotebookReadError(path, _("not a Jupyter notebook ('{kind}' file); submit the .ipynb file saved "
                                            "from Jupyter").format(kind=path.suffix or _("no extension"))) from None
        raise NotebookReadError(Location(path, line=exc.lineno), _("invalid JSON at column {column}: {problem}").format(
            column=exc.colno, problem=exc.msg)) from None
    if not isinstance(data, dict) or "nbformat" not in data or "cells" not in data and "worksheets" not in data:
        raise NotebookReadError(path, _("JSON but not a Jupyter notebook (no 'nbformat' and 'cells')"))
    if not isinstance(data["nbformat"], int) or data["nbformat"] < 3:
        raise NotebookReadError(path, _("notebook format {version} is too old; open and save it in Jupyter").format(
            version=repr(data["nbformat"])))
    return text, data
