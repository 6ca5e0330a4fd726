"""Values crossing from a worker that ran student code: plain JSON, never pickle.

The worker encodes what the tests need (tensors, numbers, text, lists, dicts); the grader decodes
it as untrusted data. A tensor subclass or an object with a lying `__eq__` arrives as plain numbers.
"""
from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch

TENSOR = "__tensor__"
OPAQUE = "__object__"
MAX_ITEMS = 1_000_000
_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.uint8, torch.int16,
    torch.int32, torch.int64, torch.bool)}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


class EncodeError(ValueError):
    """A value the worker cannot send as plain data."""


def encode(value: Any) -> Any:
    """Python value -> JSON-ready structure. Runs in the worker."""
    return _encode(value, 0)


def _encode(value: Any, depth: int) -> Any:
    if depth > 20:
        raise EncodeError("value is nested too deeply")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value)
    if type(value) in (list, tuple) or isinstance(value, torch.Size):
        return [_encode(item, depth + 1) for item in value]
    if type(value) is dict:
        return {str(key): _encode(item, depth + 1) for key, item in value.items()}
    try:
        import numpy
        if isinstance(value, numpy.ndarray) or isinstance(value, numpy.generic):
            return _encode_tensor(torch.as_tensor(numpy.asarray(value)))
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return {OPAQUE: type(value).__name__}


def _encode_tensor(tensor: torch.Tensor) -> dict:
    # Strip any subclass and its __torch_function__ before reading the numbers.
    with torch._C.DisableTorchFunction():
        plain = torch.Tensor.as_subclass(tensor, torch.Tensor).detach().cpu()
        if plain.is_complex() or plain.numel() > MAX_ITEMS or plain.dtype not in _NAMES:
            raise EncodeError(f"tensor of shape {list(plain.shape)} and type {plain.dtype} cannot be graded")
        # The raw buffer, in this machine's byte order (little-endian on every platform torch ships
        # for): exact, NaN and infinity included, and ten times cheaper than a nested list of numbers.
        raw = plain.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if plain.numel() else b""
    return {TENSOR: {"dtype": _NAMES[plain.dtype], "shape": list(plain.shape), "bytes": base64.b64encode(raw).decode()}}


def dumps(value: Any) -> bytes:
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":")).encode("utf-8")


def decode(data: Any) -> Any:
    """JSON structure -> Python values with real tensors. Runs in the grader, on untrusted input."""
    if isinstance(data, dict):
        if TENSOR in data:
            return _decode_tensor(data[TENSOR])
        if "__float__" in data:
            return float(data["__float__"])
        if OPAQUE in data:
            return Opaque(str(data[OPAQUE]))
        return {str(key): decode(item) for key, item in data.items()}
    if isinstance(data, list):
        return [decode(item) for item in data]
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    raise ValueError(f"unexpected {type(data).__name__} in worker data")


def _decode_tensor(spec: dict) -> torch.Tensor:
    dtype = _DTYPES.get(str(spec.get("dtype")))
    shape, text = spec.get("shape"), spec.get("bytes")
    if dtype is None or not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape) \
            or not isinstance(text, str):
        raise ValueError("malformed tensor in worker data")
    numel = math.prod(shape)
    if numel > MAX_ITEMS:
        raise ValueError("tensor in worker data is too large")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("tensor data is not base64") from None
    if len(raw) != numel * dtype.itemsize:
        raise ValueError("tensor data does not match its shape")
    if not numel:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape)


class Inputs(Mapping):
    """The grader's inputs by name, decoded once; each read is a fresh copy, so that code which
    changes an input in place changes neither the next read nor another test's."""

    def __init__(self, data: dict):
        self._data = data
        self._decoded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._data:
            raise LookupError(f"no grader input named '{name}' (probes.py makes: {', '.join(sorted(self._data))})")
        if name not in self._decoded:
            self._decoded[name] = decode(self._data[name])
        return _copy(self._decoded[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


# Taken when this module is imported (in the fork server, before any notebook runs): a notebook that
# patches Tensor.clone does not make `Inputs` hand out the tensors it keeps.
_clone = torch.Tensor.clone


def _copy(value: Any) -> Any:
    """A copy of a decoded value that shares no tensor or container with it (a fraction of decoding's cost)."""
    if isinstance(value, torch.Tensor):
        return _clone(value)
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value  # numbers, text, None, Opaque: not changed in place


class Opaque:
    """A value the worker could only describe by its type name (a function, a module, ...)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"

    def __eq__(self, other) -> bool:
        return isinstance(other, Opaque) and other.type_name == self.type_name

    __hash__ = None  # type: ignore[assignment]  # equal by value, so not hashable
