"""What hidden tests use: the extracted values of a run, and checks with messages a student can act on.

A test receives `student` and `reference` (both `Run`): `student["probe"]` is what the student's
notebook produced, `reference["probe"]` what the solution produced on the same inputs.
"""
from __future__ import annotations

from typing import Any

import torch

from .i18n import _
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
            result = self._probes.get(name)
            if result is None:
                raise ProbeUnavailable(_("{what} could not be checked: your notebook stopped before computing it")
                                       .format(what=shown_name(name)))
            if not result.ok:
                raise ProbeUnavailable(_("{what} could not be checked: {reason}").format(what=shown_name(name),
                                                                                          reason=result.error))
            try:
                self._decoded[name] = decode(result.value)
            except ValueError as exc:
                raise ProbeUnavailable(_("{what} could not be read: {reason}").format(what=shown_name(name),
                                                                                       reason=exc)) from None
        return self._decoded[name]


def shown_name(probe: str) -> str:
    """How a student knows a probe: a `<cell id>:<variable>` probe by its variable; a probe that
    calls the student's code by what it checks, never by its internal name."""
    if ":" in probe:
        return probe.split(":")[-1]
    return _("the values this test computes with your code")


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
        raise AssertionError(_("{what}: expected a tensor, got a {type}").format(what=what, type=got.type_name))
    raise AssertionError(_("{what}: expected a tensor, got {type} {value}").format(
        what=what, type=type(got).__name__, value=_short(got)))


def expect_shape(got: Any, shape, what: str) -> torch.Tensor:
    tensor = expect_tensor(got, what)
    if list(tensor.shape) != list(shape):
        raise AssertionError(_("{what}: expected shape {expected}, got shape {got}").format(
            what=what, expected=_shape(shape), got=_shape(tensor.shape)))
    return tensor


def expect_close(got: Any, expected: Any, what: str, atol: float = 1e-4, rtol: float = 1e-4) -> None:
    """Same shape and values within tolerance; the message names the largest difference and where."""
    expected = expect_tensor(expected, _("{what} (reference)").format(what=what))
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
        raise AssertionError(_("{what}: {count} of {total} values differ; largest difference at {where}: "
                               "expected {expected}, got {got}").format(
            what=what, count=count, total=tensor.numel(), where=where,
            expected=f"{float(expected.reshape(-1)[flat]):.4f}", got=f"{float(tensor.reshape(-1)[flat]):.4f}"))


def expect_equal(got: Any, expected: Any, what: str) -> None:
    if isinstance(expected, torch.Tensor):
        tensor = expect_shape(got, expected.shape, what)
        if not torch.equal(tensor.to(expected.dtype), expected):
            raise AssertionError(_("{what}: values differ from what was expected").format(what=what))
    elif got != expected:
        raise AssertionError(_("{what}: expected {expected}, got {got}").format(
            what=what, expected=_short(expected), got=_short(got)))


def expect_same(student: Run, reference: Run, probe: str, what: str | None = None, **tolerance) -> None:
    """The student's value of `probe` is close to the solution's (a list: case by case)."""
    what = what or shown_name(probe)
    got, expected = student[probe], reference[probe]
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            raise AssertionError(_("{what}: expected {count} results, got {type}").format(
                what=what, count=len(expected), type=type(got).__name__))
        for number, (one, other) in enumerate(zip(got, expected), start=1):
            expect_close(one, other, _("{what} (case {number})").format(what=what, number=number), **tolerance)
    else:
        expect_close(got, expected, what, **tolerance)


def cases(run: Run, probe: str, count: int) -> list:
    """The list of `count` cases a probe returned (inputs and outputs together)."""
    got = run[probe]
    if not isinstance(got, list) or len(got) != count:
        raise AssertionError(_("{what}: expected {count} results, got {type}").format(
            what=shown_name(probe), count=count, type=type(got).__name__))
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
