"""Whether committed build outputs still match what their sources build.

Notebooks must match byte for byte. A checks file holds the solution's values as raw floats, and
the last bits of a float differ between CPUs (vector units change the order of sums), so its
tensors match within a relative 1e-5 — far tighter than any check's tolerance.
"""
from __future__ import annotations

import base64
import json
import math
from array import array
from pathlib import Path
from typing import Any

from ..protocol.plaindata import TENSOR

RTOL = 1e-5
ATOL = 1e-7
_FLOAT_CODES = {"float32": "f", "float64": "d"}


def stale_files(files: dict[Path, bytes]) -> list[Path]:
    """Files on disk that differ from (or are missing against) what the source builds now."""
    return [path for path, data in files.items() if not path.is_file() or not _same(path, path.read_bytes(), data)]


def _same(path: Path, on_disk: bytes, built: bytes) -> bool:
    if on_disk == built:
        return True
    if path.suffix != ".json":
        return False
    try:
        return _close(json.loads(on_disk), json.loads(built))
    except (ValueError, UnicodeDecodeError):
        return False


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        if TENSOR in a:
            return _tensors_close(a[TENSOR], b[TENSOR])
        return all(_close(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return _near(a, b)
    return type(a) is type(b) and a == b


def _near(x: float, y: float) -> bool:
    """Within tolerance; NaN matches NaN (a check may hold one on purpose) and infinity its own sign."""
    return x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=RTOL, abs_tol=ATOL)


def _tensors_close(a: dict, b: dict) -> bool:
    if {k: v for k, v in a.items() if k != "bytes"} != {k: v for k, v in b.items() if k != "bytes"}:
        return False
    code = _FLOAT_CODES.get(a.get("dtype", ""))
    if code is None:
        return a == b
    left, right = array(code), array(code)
    left.frombytes(base64.b64decode(a["bytes"]))
    right.frombytes(base64.b64decode(b["bytes"]))
    return len(left) == len(right) and all(_near(x, y) for x, y in zip(left, right))
