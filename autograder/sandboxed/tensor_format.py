"""Tensor printing for workers: the text torch prints, measured without a torch call per number.

Before printing, torch's printer measures the tensor (widest number; whole numbers or not;
scientific notation or not) by walking it one 0-d tensor at a time, about 100 us for a 6x3
tensor. A lab prints dozens of tensors, so that walk was a fifth of a submission's run. Here the
same measurement is made on the numbers read out once with `tolist()`; torch's own code still lays
out the text.

This leans on a private part of torch (`torch._tensor_str._Formatter`), so it fails safe: it is
installed only after whole printouts of varied tensors agree with torch's own, any error while
measuring falls back to torch's own measurement, and an attribute a newer torch's formatter has
and this one does not set is made by torch's own code on first use. Every fallback is counted in
`fallbacks`, so the worker can say so.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import _tensor_str

_TORCH_FORMATTER: Any = _tensor_str._Formatter
_MEASURED_HERE = frozenset({torch.float32, torch.float64, torch.int64, torch.int32, torch.int16, torch.int8,
                            torch.uint8, torch.bool})
# The fields torch's measurement sets; everything else a formatter has comes from torch's __init__.
_MEASURED_FIELDS = ("floating_dtype", "int_mode", "sci_mode", "max_width")
fallbacks = 0  # measurements handed back to torch in this process


def measured_formatter(base: Any) -> Any:
    """A subclass of torch's formatter `base` whose measurement reads Python numbers."""

    class MeasuredFormatter(base):
        def __init__(self, tensor: torch.Tensor):
            self._tensor = tensor
            if not _measured_here(tensor):
                base.__init__(self, tensor)
                return
            try:
                self.floating_dtype = tensor.dtype.is_floating_point
                self.int_mode, self.sci_mode, self.max_width = _measure(tensor.reshape(-1).tolist(),
                                                                        self.floating_dtype)
            except Exception:
                _fall_back(self, base)

        def __getattr__(self, name: str):
            # Only for attributes not set above: a torch whose formatter has more than we set.
            if name.startswith("__") or name == "_tensor" or "_tensor" not in self.__dict__:
                raise AttributeError(name)
            _fall_back(self, base)
            return object.__getattribute__(self, name)

    return MeasuredFormatter


def _fall_back(formatter: Any, base: Any) -> None:
    """Let torch's own __init__ set every field of `formatter`, its measurement included."""
    global fallbacks
    fallbacks += 1
    base.__init__(formatter, formatter._tensor)


MeasuredFormatter = measured_formatter(_TORCH_FORMATTER)


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
        rand.double() / 3, torch.arange(-12, 12).view(4, 6), torch.tensor([True, False]),
        torch.tensor([200, 7], dtype=torch.uint8), torch.rand(3, 40, generator=generator) * 100,
        torch.nn.Parameter(rand.clone()), (rand * 2).requires_grad_(), torch.randn(2, 3, 4, generator=generator),
    ]


_SAMPLE_OPTIONS: tuple[dict[str, Any], ...] = ({}, {"precision": 2}, {"sci_mode": True}, {"linewidth": 30})


def agrees_with_torch(formatter: Any, base: Any, tensors: list[torch.Tensor]) -> bool:
    """Whole printouts with `formatter` equal torch's (`base`) for every tensor and a few print options,
    and its instances carry exactly the fields torch's do."""
    saved_formatter, saved_options = _tensor_str._Formatter, _tensor_str.get_printoptions()
    try:
        for options in _SAMPLE_OPTIONS:
            torch.set_printoptions(**options)
            for tensor in tensors:
                _use(base)
                theirs = repr(tensor)
                _use(formatter)
                if repr(tensor) != theirs:
                    return False
        for tensor in tensors:
            mine = formatter(tensor)
            if _measured_here(tensor) and set(vars(mine)) - {"_tensor"} != set(vars(base(tensor))):
                return False
        return True
    finally:
        _use(saved_formatter)
        torch.set_printoptions(**{key: value for key, value in saved_options.items() if key != "profile"})


def install() -> str | None:
    """Use the quick measurement for every tensor printed in this process; returns None, or why not."""
    try:
        base = _tensor_str._Formatter
        formatter = measured_formatter(base)
        if not agrees_with_torch(formatter, base, samples()):
            return "the quick measurement disagreed with this torch's printer"
        _use(formatter)
        return None
    except Exception as exc:  # a torch whose printer changed shape: keep torch's own
        return f"{type(exc).__name__}: {exc}"


def _use(formatter: Any) -> None:
    """Make torch's printer measure tensors with `formatter` (it looks the class up on each print)."""
    _tensor_str._Formatter = formatter  # type: ignore[misc]
