"""Read a notebook file from disk, turning every way it can be broken into one clear error."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .errors import Location, NotebookReadError


def read_notebook(path: Path) -> NotebookNode:
    """Parse and validate a .ipynb file (older v4 minors and v3 are upgraded to v4)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotebookReadError(path, "file not found") from None
    except IsADirectoryError:
        raise NotebookReadError(path, "is a folder, not a notebook file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookReadError(path, f"not UTF-8 text (bad byte at offset {exc.start}); save the notebook from Jupyter again") from None
    if not text.strip():
        raise NotebookReadError(path, "the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if path.suffix.lower() != ".ipynb":
            raise NotebookReadError(path, f"not a Jupyter notebook ('{path.suffix or 'no extension'}' file); "
                                          "submit the .ipynb file saved from Jupyter") from None
        raise NotebookReadError(Location(path, line=exc.lineno), f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict) or "nbformat" not in data or "cells" not in data and "worksheets" not in data:
        raise NotebookReadError(path, "JSON but not a Jupyter notebook (no 'nbformat' and 'cells')")
    if not isinstance(data["nbformat"], int) or data["nbformat"] < 3:
        raise NotebookReadError(path, f"notebook format {data['nbformat']!r} is too old; open and save it in Jupyter")
    invalid: dict = {}
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error=invalid)  # validates once
    except Exception as exc:  # nbformat raises several types for malformed structure
        raise NotebookReadError(path, f"not a valid notebook: {exc}") from None
    if invalid.get("ValidationError") is not None:
        raise NotebookReadError(path, f"not a valid notebook: {invalid['ValidationError'].message}")
    return nb
