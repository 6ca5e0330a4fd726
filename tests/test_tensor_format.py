"""Tensor printing in workers: the same text as torch's own printer, for every kind of tensor."""
import contextlib
import itertools

import pytest
import torch
from torch import _tensor_str

from autograder.sandboxed import tensor_format


@contextlib.contextmanager
def formatter(kind):
    saved = _tensor_str._Formatter
    _tensor_str._Formatter = kind
    try:
        yield
    finally:
        _tensor_str._Formatter = saved


def both_reprs(tensor):
    with formatter(tensor_format._TORCH_FORMATTER):
        theirs = repr(tensor)
    with formatter(tensor_format.MeasuredFormatter):
        ours = repr(tensor)
    return theirs, ours


def values(kind: str, shape: tuple, generator: torch.Generator) -> torch.Tensor:
    base = torch.randn(shape, generator=generator, dtype=torch.float64)
    scale = {"tiny": 1e-7, "small": 1e-3, "unit": 1.0, "wide": 1e4, "huge": 1e10}
    if kind in scale:
        return base * scale[kind]
    if kind == "spread":  # small and large together: scientific notation
        return base * torch.logspace(-6, 6, base.numel(), dtype=torch.float64).view(shape) if base.numel() else base
    if kind == "whole":
        return (base * 50).round()
    if kind == "special":
        flat = base.flatten()
        for i, special in zip(range(flat.numel()), [float("nan"), float("inf"), -0.0, 0.0, -float("inf")]):
            flat[i * 3 % max(1, flat.numel())] = special
        return flat.view(shape)
    raise AssertionError(kind)


SHAPES = [(), (1,), (5,), (0,), (3, 4), (2, 0), (2, 3, 4), (2, 2, 2, 3), (1, 30), (40, 30)]
KINDS = ["tiny", "small", "unit", "wide", "huge", "spread", "whole", "special"]
DTYPES = [torch.float32, torch.float64, torch.int64, torch.int32, torch.int8, torch.uint8, torch.bool,
          torch.float16, torch.bfloat16]  # the last two are measured by torch itself


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_shape_and_kind_of_number_prints_as_torch_prints_it(dtype):
    generator = torch.Generator().manual_seed(7)
    checked = 0
    for shape, kind in itertools.product(SHAPES, KINDS):
        tensor = values(kind, shape, generator)
        if not dtype.is_floating_point:
            tensor = (tensor.nan_to_num(0, 0, 0) % 100) if dtype == torch.uint8 else tensor.nan_to_num(0, 0, 0).clamp(-100, 100)
        tensor = tensor.to(dtype)
        theirs, ours = both_reprs(tensor)
        assert ours == theirs, (shape, kind)
        checked += 1
    assert checked == len(SHAPES) * len(KINDS)


@pytest.mark.parametrize("options", [dict(precision=2), dict(precision=8), dict(sci_mode=True), dict(sci_mode=False),
                                     dict(linewidth=30), dict(threshold=5, edgeitems=1), dict(profile="full")],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_print_options_a_student_sets_are_honoured(options):
    generator = torch.Generator().manual_seed(3)
    saved = _tensor_str.get_printoptions()
    torch.set_printoptions(**options)
    try:
        for shape, kind in itertools.product([(4,), (3, 5), (2, 2, 3)], KINDS):
            tensor = values(kind, shape, generator).float()
            theirs, ours = both_reprs(tensor)
            assert ours == theirs, (shape, kind)
    finally:
        torch.set_printoptions(**saved)


def test_tensors_with_gradients_views_and_parameters_print_as_torch_prints_them():
    generator = torch.Generator().manual_seed(5)
    leaf = torch.rand(3, 4, generator=generator, requires_grad=True)
    weights = torch.nn.Linear(4, 2)
    cases = [leaf, leaf * 2, leaf.sum(), leaf.T, leaf[:, 1:3], torch.nn.Parameter(leaf.detach().clone()),
             weights.weight, weights(leaf), torch.rand(3, generator=generator)._neg_view(),
             torch.rand(2, 3, generator=generator).to(torch.complex64), torch.arange(6).view(2, 3).T]
    for tensor in cases:
        theirs, ours = both_reprs(tensor)
        assert ours == theirs


def test_the_measurement_agrees_with_torch_on_its_own_samples_and_is_installed():
    saved = _tensor_str._Formatter
    try:
        assert tensor_format.install() is None
        assert _tensor_str._Formatter.__name__ == "MeasuredFormatter"
        assert _tensor_str._Formatter.__mro__[1] is saved
    finally:
        _tensor_str._Formatter = saved


def test_a_measurement_that_disagrees_with_torch_is_not_installed(monkeypatch):
    monkeypatch.setattr(tensor_format, "_measure", lambda values, floating: (False, False, 3))
    saved = _tensor_str._Formatter
    try:
        assert "disagreed" in tensor_format.install()
        assert _tensor_str._Formatter is saved
    finally:
        _tensor_str._Formatter = saved


class FormatterOfANewerTorch(tensor_format._TORCH_FORMATTER):
    """torch's formatter as a newer torch might have it: one more field, read when formatting."""

    def __init__(self, tensor):
        super().__init__(tensor)
        self.marker = ""

    def format(self, value):
        return self.marker + super().format(value)


def test_a_torch_whose_formatter_gained_a_field_keeps_its_own_printer(monkeypatch):
    monkeypatch.setattr(_tensor_str, "_Formatter", FormatterOfANewerTorch)
    assert "disagreed" in tensor_format.install()
    assert _tensor_str._Formatter is FormatterOfANewerTorch
    assert repr(torch.arange(4.0)) == "tensor([0., 1., 2., 3.])"


def test_a_field_the_quick_formatter_lacks_is_made_by_torch_on_first_use(monkeypatch):
    quick = tensor_format.measured_formatter(FormatterOfANewerTorch)
    tensor = torch.rand(3, 4, generator=torch.Generator().manual_seed(1))
    with formatter(FormatterOfANewerTorch):
        theirs = repr(tensor)
    before = tensor_format.fallbacks
    with formatter(quick):
        ours = repr(tensor)
    assert ours == theirs and tensor_format.fallbacks > before


def test_an_error_while_installing_leaves_torch_printing(monkeypatch):
    def broken():
        raise AttributeError("module 'torch._tensor_str' has no attribute 'PRINT_OPTS'")

    monkeypatch.setattr(tensor_format, "samples", broken)
    saved = _tensor_str._Formatter
    assert "AttributeError" in tensor_format.install()
    assert _tensor_str._Formatter is saved


def test_an_error_while_measuring_falls_back_to_torch(monkeypatch):
    def broken(values, floating):
        raise ValueError("a number torch prints in a way this does not know")

    monkeypatch.setattr(tensor_format, "_measure", broken)
    tensor = torch.rand(2, 5, generator=torch.Generator().manual_seed(2))
    theirs, ours = both_reprs(tensor)
    assert ours == theirs


def test_a_worker_prints_tensors_as_torch_prints_them(run_cells):
    cells = ["import torch\ntorch.manual_seed(123)\nx = torch.rand(6, 3)\nprint(x)\nprint(x @ x.T * 1e6)",
             "print(torch.arange(12).view(3, 4), torch.tensor([1.5, float('nan')]), torch.ones(2, 2) * 3)",
             "torch.set_printoptions(precision=2)\nprint(torch.softmax(x, dim=-1))"]
    result = run_cells(*cells)
    saved = _tensor_str.get_printoptions()
    expected = []
    with formatter(tensor_format._TORCH_FORMATTER), contextlib.redirect_stdout(Collector(expected)):
        namespace = {}
        state = torch.get_rng_state()
        try:
            for source in cells:
                exec(source, namespace)
                expected.append("\x00")
        finally:
            torch.set_rng_state(state)
            torch.set_printoptions(**saved)
    assert [cell.output for cell in result.cells] == "".join(expected).split("\x00")[:-1]


def test_workers_use_the_quick_measurement(run_cells):
    result = run_cells("import torch\nprint(torch._tensor_str._Formatter.__name__)")
    assert result.cells[0].output == "MeasuredFormatter\n"


class Collector:
    def __init__(self, parts):
        self.parts = parts

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass
