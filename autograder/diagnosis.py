"""The likely mistake behind a value that differs: the common mistakes of attention code, each
tested against the reference on the same inputs, in the grader.

Two kinds. Generic ones need only the student's claimed value and the expected one (softmax over
another dim, rows not renormalised, the mask's direction, dropout left on, axes swapped, a
constant factor, heads concatenated along another dim). Specific ones are values a hidden test
computes from the reference's inputs with the mistake made (`Mistake`: softmax without or with
the wrong scaling, weights drawn in another order, a block without its residual, ...). Nothing
here runs next to student code, so a worker cannot choose what it is told.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from .i18n import _


@dataclass(frozen=True)
class Mistake:
    """What the value would be with one mistake made: `cause` says it to the student."""

    cause: Callable[[], str]  # a sentence of the catalog, made when the message is written
    value: Any  # or a function making it: a costly value is then made only for a value that is wrong


def likely_cause(got: torch.Tensor, expected: torch.Tensor, mistakes: Iterable[Mistake] = (),
                 atol: float = 1e-4, rtol: float = 1e-4) -> str | None:
    """The mistake that explains `got`, or None; the test's own candidates first, then the generic ones."""
    got, expected = got.detach().double(), expected.detach().double()
    for mistake in mistakes:
        value = mistake.value() if callable(mistake.value) else mistake.value
        if isinstance(value, torch.Tensor) and _close(got, value.detach().double(), atol, rtol):
            return mistake.cause()
    for detect in _GENERIC:
        try:
            cause = detect(got, expected, atol, rtol)
        except (RuntimeError, ValueError, IndexError):
            cause = None
        if cause:
            return cause
    return None


def shape_cause(got: list, expected: list) -> str | None:
    """A shape that is right but for parts concatenated along another dim, e.g. [2, 18, 2] for [2, 6, 6]."""
    if not (_ints(got) and _ints(expected)) or len(got) != len(expected) or got == expected:
        return None
    changed = [d for d in range(len(got)) if got[d] != expected[d]]
    if len(changed) != 2:
        return None
    a, b = changed
    for grown, shrunk in ((a, b), (b, a)):
        if expected[shrunk] % got[shrunk] == 0 and got[grown] == expected[grown] * (expected[shrunk] // got[shrunk]):
            return concatenated_along(grown, shrunk)
    return None


# The sentences: each a message of the catalog.
def softmax_over(dim: int, ndim: int) -> str:
    if ndim == 2 and dim == 0:
        return _("softmax over dim=0 — each column sums to 1")
    return _("softmax over dim={dim} — the values sum to 1 along dim {dim}, not along the last dim").format(dim=dim)


def not_renormalised() -> str:
    return _("the masked weights were not renormalised — each row sums to less than 1")


def mask_direction() -> str:
    return _("the mask points the wrong way — each position sees the future and not the past")


def dropout_left_on(scale: float) -> str:
    return _("dropout left on — some values are 0 and the others ×{scale} (call .eval() or use p=0)").format(
        scale=f"{scale:.4g}")


def axes_swapped(first: int, second: int) -> str:
    return _("axes {first} and {second} are swapped (a transpose too many or too few)").format(first=first, second=second)


def constant_factor(factor: float) -> str:
    return _("every value is off by the same factor ×{factor}").format(factor=f"{factor:.4g}")


def concatenated_along(dim: int, right: int) -> str:
    return _("concatenated along dim {dim} instead of dim {right}").format(dim=dim, right=right)


def no_scaling() -> str:
    return _("the scores were not divided by √d_k before the softmax")


def scaled_by_d_k() -> str:
    return _("the scores were divided by d_k instead of √d_k")


def drawn_in_another_order(name: str, other: str) -> str:
    return _("the weights were drawn in another order — your {name} is what {other} should be").format(name=name, other=other)


def heads_not_transposed() -> str:
    return _("heads split with view but without transpose(1, 2) — tokens and heads are mixed up")


def no_residual() -> str:
    return _("no residual connection — x is not added back before the LayerNorm")


def norm_before_residual() -> str:
    return _("LayerNorm applied before the sublayer (pre-norm) instead of after adding the residual")


def _close(got: torch.Tensor, value: torch.Tensor, atol: float, rtol: float) -> bool:
    return got.shape == value.shape and bool(torch.allclose(got, value, atol=atol, rtol=rtol, equal_nan=True))


def _ints(shape) -> bool:
    return isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)


def _sums_to_one(x: torch.Tensor, dim: int) -> bool:
    return bool((x >= -1e-6).all()) and bool(torch.allclose(x.sum(dim=dim), torch.ones(()).double(), atol=1e-3))


def _softmax_dim(got, expected, atol, rtol):
    if got.shape != expected.shape or got.dim() < 2 or not _sums_to_one(expected, -1) or _sums_to_one(got, -1):
        return None
    for dim in range(got.dim() - 1):
        if _sums_to_one(got, dim):
            return softmax_over(dim, got.dim())
    return None


def _renormalisation(got, expected, atol, rtol):
    if got.shape != expected.shape or not _sums_to_one(expected, -1) or bool((got < -1e-6).any()):
        return None
    sums = got.sum(dim=-1, keepdim=True)
    if bool((sums <= 0).any()) or bool((sums > 1 + 1e-3).any()) or _sums_to_one(got, -1):
        return None
    return not_renormalised() if _close(got / sums, expected, atol, rtol) else None


def _mask_direction(got, expected, atol, rtol):
    if got.shape != expected.shape or got.dim() < 2 or got.shape[-1] != got.shape[-2]:
        return None
    # Masked positions: -inf in scores, 0 in weights.
    marked = torch.isinf if bool(torch.isinf(expected).any()) else (lambda x: x == 0)
    masked, theirs = marked(expected), marked(got)
    if not bool(masked.any()) or bool((masked == theirs).all()):
        return None
    return mask_direction() if bool((theirs == masked.transpose(-2, -1)).all()) else None


def _dropout(got, expected, atol, rtol):
    if got.shape != expected.shape:
        return None
    live = expected.abs() > 1e-6
    dropped = live & (got.abs() <= 1e-9)
    kept = live & ~dropped
    if not bool(kept.any()) or not 0.1 <= float(dropped.sum()) / float(live.sum()) <= 0.9:
        return None
    ratio = got[kept] / expected[kept]
    scale = float(ratio.mean())
    if scale > 1.05 and bool(torch.allclose(ratio, torch.full_like(ratio, scale), atol=1e-3, rtol=1e-3)):
        return dropout_left_on(scale)
    return None


def _swapped_axes(got, expected, atol, rtol):
    for first, second in itertools.combinations(range(expected.dim()), 2):
        if _close(got, expected.transpose(first, second), atol, rtol):
            return axes_swapped(first, second)
    return None


def _factor(got, expected, atol, rtol):
    if got.shape != expected.shape or float(expected.norm()) == 0:
        return None
    factor = float((got * expected).sum() / (expected * expected).sum())
    if abs(factor - 1) > 1e-3 and abs(factor) > 1e-6 and _close(got, expected * factor, atol, rtol):
        return constant_factor(factor)
    return None


_GENERIC = (_mask_direction, _softmax_dim, _renormalisation, _dropout, _swapped_axes, _factor)
