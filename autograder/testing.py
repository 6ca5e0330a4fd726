"""What hidden tests use: the extracted values of a run, and checks with messages a student can act on.

A test receives `student` and `reference` (both `Run`): `student["probe"]` is what the student's
notebook produced, `reference["probe"]` what the solution produced on the same inputs.
"""
from __future__ import annotations

from typing import Any

import torch

from .protocol.plaindata import Opaque, decode


class ProbeUnavailable(AssertionError):
    """A value the test needs could not be computed from the student's notebook."""


class Run:
    """The probe values of one executed notebook, decoded on first use."""

    def __init__(self, probes: dict, known: set[str] | None = None):
        self._probes = probes
        self._known = set(probes) if known is None else known  # the probes the reference produced
        self._decoded: dict[str, Any] = {}

    @property
    def names(self) -> set[str]:
        return set(self._known)

    def __getitem__(self, name: str) -> Any:
        if name not in self._decoded:
            if name not in self._known:
                raise LookupError(f"no probe named '{name}' in probes.py")
            shown = name.split(":")[-1]  # '<cell id>:<variable>' probes are shown by the variable
            result = self._probes.get(name)
            if result is None:
                raise ProbeUnavailable(f"{shown} could not be checked: your notebook stopped before computing it")
            if not result.ok:
                raise ProbeUnavailable(f"{shown} could not be checked: {result.error}")
            try:
                self._decoded[name] = decode(result.value)
            except ValueError as exc:
                raise ProbeUnavailable(f"{shown} could not be read: {exc}") from None
        return self._decoded[name]


class RecordingRun(Run):
    """A Run that remembers which probes a test read."""

    def __init__(self, run: Run):
        super().__init__(run._probes, run.names)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        return super().__getitem__(name)


def expect_tensor(got: Any, what: str) -> torch.Tensor:
    if isinstance(got, torch.Tensor):
        return got
    if isinstance(got, Opaque):
        raise AssertionError(f"{what}: expected a tensor, got a {got.type_name}")
    raise AssertionError(f"{what}: expected a tensor, got {type(got).__name__} {_short(got)}")


def expect_shape(got: Any, shape, what: str) -> torch.Tensor:
    tensor = expect_tensor(got, what)
    if list(tensor.shape) != list(shape):
        raise AssertionError(f"{what}: expected shape {_shape(shape)}, got shape {_shape(tensor.shape)}")
    return tensor


def expect_close(got: Any, expected: Any, what: str, atol: float = 1e-4, rtol: float = 1e-4) -> None:
    """Same shape and values within tolerance; the message names the largest difference and where."""
    expected = expect_tensor(expected, f"{what} (reference)")
    tensor = expect_shape(got, expected.shape, what).double()
    expected = expected.double()
    if tensor.numel() == 0 or torch.allclose(tensor, expected, rtol=rtol, atol=atol, equal_nan=True):
        return  # the common case, in one operation; the rest explains a difference
    same_inf = (tensor == expected) & torch.isinf(expected)
    both_nan = torch.isnan(tensor) & torch.isnan(expected)
    diff = (tensor - expected).abs().masked_fill(same_inf | both_nan, 0.0).nan_to_num(nan=float("inf"))
    bad = diff > atol + rtol * expected.abs().nan_to_num(posinf=0.0, neginf=0.0)
    if bool(bad.any()):
        flat = int(torch.argmax(diff.masked_fill(~bad, -1.0)))
        where = _unravel(flat, tensor.shape)
        count = int(bad.sum())
        raise AssertionError(
            f"{what}: {count} of {tensor.numel()} values differ; largest difference at {where}: "
            f"expected {float(expected.reshape(-1)[flat]):.4f}, got {float(tensor.reshape(-1)[flat]):.4f}")


def expect_equal(got: Any, expected: Any, what: str) -> None:
    if isinstance(expected, torch.Tensor):
        tensor = expect_shape(got, expected.shape, what)
        if not torch.equal(tensor.to(expected.dtype), expected):
            raise AssertionError(f"{what}: values differ from what was expected")
    elif got != expected:
        raise AssertionError(f"{what}: expected {_short(expected)}, got {_short(got)}")


def expect_same(student: Run, reference: Run, probe: str, what: str | None = None, **tolerance) -> None:
    """The student's value of `probe` is close to the solution's (a list: case by case)."""
    what = what or probe.split(":")[-1]
    got, expected = student[probe], reference[probe]
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            raise AssertionError(f"{what}: expected {len(expected)} results, got {type(got).__name__}")
        for number, (one, other) in enumerate(zip(got, expected), start=1):
            expect_close(one, other, f"{what} (case {number})", **tolerance)
    else:
        expect_close(got, expected, what, **tolerance)


def cases(run: Run, probe: str, count: int) -> list:
    """The list of `count` cases a probe returned (inputs and outputs together)."""
    got = run[probe]
    if not isinstance(got, list) or len(got) != count:
        raise AssertionError(f"{probe}: expected {count} results")
    return got


def _unravel(flat: int, shape) -> list[int]:
    """A flat index -> its position in `shape` (torch.unravel_index would import sympy, 0.2 s)."""
    where = []
    for size in reversed(shape):
        where.append(flat % size)
        flat //= size
    return where[::-1]


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
