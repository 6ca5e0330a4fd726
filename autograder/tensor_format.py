"""Tensor printing for workers: the text torch prints, measured without a torch call per number.

Before printing, torch's printer measures the tensor (widest number; whole numbers or not;
scientific notation or not) by walking it one 0-d tensor at a time, about 100 us for a 6x3
tensor. A lab prints dozens of tensors, so that walk was a fifth of a submission's run. Here the
same measurement is made on the numbers read out once with `tolist()`; torch's own code still lays
out the text. Only plain CPU tensors of the common dtypes are measured here, every other tensor
the way torch does it, and the fork server installs this only after it agreed with torch on
sample tensors (`install`).
"""
from __future__ import annotations

import math

import torch
from torch import _tensor_str

_TORCH_FORMATTER = _tensor_str._Formatter
_MEASURED_HERE = frozenset({torch.float32, torch.float64, torch.int64, torch.int32, torch.int16, torch.int8,
                            torch.uint8, torch.bool})


class MeasuredFormatter(_TORCH_FORMATTER):
    """torch's formatter whose measurement reads Python numbers instead of 0-d tensors."""

    def __init__(self, tensor: torch.Tensor):
        if not _measured_here(tensor):
            _TORCH_FORMATTER.__init__(self, tensor)
            return
        self.floating_dtype = tensor.dtype.is_floating_point
        self.int_mode, self.sci_mode, self.max_width = _measure(tensor.reshape(-1).tolist(), self.floating_dtype)


def _measured_here(tensor: torch.Tensor) -> bool:
    return (tensor.dtype in _MEASURED_HERE and type(tensor) in (torch.Tensor, torch.nn.Parameter)
            and tensor.layout == torch.strided and tensor.device.type == "cpu")


def _measure(values: list, floating: bool) -> tuple[bool, bool, int]:
    """(whole numbers only, scientific notation, width of the widest number), torch's rules."""
    if not floating:
        return True, False, max([1, *(len(str(value)) for value in values)])
    shown = [value for value in values if value != 0 and math.isfinite(value)]
    if not shown:
        return True, False, 1
    whole = all(value == math.ceil(value) for value in shown)
    smallest = min(abs(value) for value in shown)
    largest = max(abs(value) for value in shown)
    options = _tensor_str.PRINT_OPTS
    scientific = (largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
                  if options.sci_mode is None else bool(options.sci_mode))
    if scientific:
        spec, extra = f"{{:.{options.precision}e}}", 0
    elif whole:
        spec, extra = "{:.0f}", 1  # room for the "." torch puts after a whole number
    else:
        spec, extra = f"{{:.{options.precision}f}}", 0
    return whole, scientific, max(1, max(len(spec.format(value)) for value in shown) + extra)


def samples() -> list[torch.Tensor]:
    """Tensors that exercise every rule of the measurement."""
    generator = torch.Generator().manual_seed(0)
    rand = torch.rand(4, 3, generator=generator)
    return [
        rand, rand * 1e5, rand * 1e-6, rand * 1e9, -rand, rand.round(), rand.round() * 1e9, torch.tensor(0.5),
        torch.tensor([0.0, -0.0, float("nan"), float("inf"), -float("inf")]), torch.tensor([1.0, float("nan"), -3.0]),
        torch.zeros(2, 2), torch.empty(0), torch.tensor([1e-5, 1.0]), torch.tensor([3.0, 3000.5]),
        rand.double() / 3, torch.arange(-12, 12).view(4, 6), torch.tensor([True, False]), torch.tensor([200, 7], dtype=torch.uint8),
        torch.nn.Parameter(rand.clone()), (rand * 2).requires_grad_(),
    ]


def agrees_with_torch(tensors: list[torch.Tensor]) -> bool:
    for tensor in tensors:
        theirs, ours = _TORCH_FORMATTER(tensor), MeasuredFormatter(tensor)
        if (theirs.floating_dtype, theirs.int_mode, bool(theirs.sci_mode), theirs.max_width) != \
                (ours.floating_dtype, ours.int_mode, bool(ours.sci_mode), ours.max_width):
            return False
    return True


def install() -> bool:
    """Use the measurement here for every tensor printed in this process, if it agrees with torch's."""
    if not agrees_with_torch(samples()):
        return False
    _tensor_str._Formatter = MeasuredFormatter
    return True
