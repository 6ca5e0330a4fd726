"""What hidden tests use: the extracted values of a run, and checks with messages a student can act on.

A test receives `student` and `reference` (both `Run`): `student["probe"]` is what the student's
notebook produced, `reference["probe"]` what the solution produced on the same inputs.
"""
from __future__ import annotations

import ast
import functools
import math
from collections.abc import Iterable
from typing import Any

import torch

from .diagnosis import Mistake, likely_cause, shape_cause
from .i18n import _, ngettext
from .protocol.plaindata import Opaque, decode
from .wording import code, plain_name


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

    @property
    def results(self) -> dict:
        """The probe results as received (name -> protocol.messages.ProbeResult), not decoded."""
        return dict(self._probes)

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
        return shown_expression(probe.split(":", 1)[1])  # an expression may have colons of its own (a dict, a slice)
    return _("the values this test computes with your code")


def shown_expression(expression: str) -> str:
    """An expression as the label of a message. A dict of a check's properties shows its keys only,
    which name the properties in the student's words (the code that computes them is in the check);
    any other long expression is cut, so that the index path and the difference after it stay readable."""
    keys = _property_names(expression)
    if keys:
        expression = "{" + ", ".join(f"{key!r}: …" for key in keys) + "}"
    return expression if len(expression) <= _EXPRESSION_CHARS else expression[:_EXPRESSION_CHARS - 1] + "…"


@functools.lru_cache(maxsize=256)
def _property_names(expression: str) -> tuple[str, ...] | None:
    """The keys of a dict literal whose keys are all strings; None for any other expression."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(node, ast.Dict) or not node.keys:
        return None
    keys = tuple(key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str))
    return keys if len(keys) == len(node.keys) else None


_EXPRESSION_CHARS = 160


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
        raise AssertionError(_("{what}: expected a tensor, got a {type}").format(what=what, type=plain_name(got.type_name)))
    raise AssertionError(_("{what}: expected a tensor, got {type} {value}").format(
        what=what, type=type(got).__name__, value=_short(got)))


def expect_shape(got: Any, shape, what: str) -> torch.Tensor:
    tensor = expect_tensor(got, what)
    if list(tensor.shape) != list(shape):
        raise AssertionError(_shape_differs(tensor, shape, what))
    return tensor


def _shape_differs(tensor: torch.Tensor, shape, what: str, cause: str | None = None) -> str:
    """The message for a wrong shape, with `cause` or else a concatenation along another dim named."""
    message = _("{what}: expected shape {expected}, got shape {got}").format(
        what=what, expected=_shape(shape), got=_shape(tensor.shape))
    cause = cause or shape_cause([int(n) for n in tensor.shape], [int(n) for n in shape])
    return message if cause is None else _with_cause(message, cause)


def expect_close(got: Any, expected: Any, what: str, atol: float = 1e-4, rtol: float = 1e-4,
                 mistakes: Iterable[Mistake] = ()) -> None:
    """Same shape and values within tolerance; the message names the largest difference and where,
    and the likely mistake: one of `mistakes` (values made from the reference's inputs with a
    common mistake) or a generic one (see autograder.diagnosis)."""
    expected = expect_tensor(expected, _("{what} (reference)").format(what=what))
    tensor = expect_tensor(got, what)
    if list(tensor.shape) != list(expected.shape):
        raise AssertionError(_shape_differs(tensor, expected.shape, what,
                                            likely_cause(tensor, expected, mistakes, atol, rtol)))
    try:
        _expect_values(tensor.double(), expected.double(), what, atol, rtol)
    except AssertionError as failure:
        cause = likely_cause(tensor, expected, mistakes, atol, rtol)
        if cause is None:
            raise
        raise AssertionError(_with_cause(str(failure), cause)) from None


def _with_cause(message: str, cause: str) -> str:
    return message + " — " + _("likely cause: {cause}").format(cause=cause)


def _expect_values(tensor: torch.Tensor, expected: torch.Tensor, what: str, atol: float, rtol: float) -> None:
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


def expect_finite(got: Any, what: str) -> torch.Tensor:
    """A tensor without NaN or infinity (NaN would pass any "these two are equal" check with itself)."""
    tensor = expect_tensor(got, what)
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise AssertionError(_("{what}: {bad} of {count} values are NaN or infinite").format(
            what=what, bad=bad, count=tensor.numel()))
    return tensor


def expect_nontrivial(got: Any, what: str, given_input: torch.Tensor | None = None) -> torch.Tensor:
    """Finite, not one value everywhere, and (when shapes allow) not the input itself: what a
    constant, zero, NaN or identity module cannot give, whatever shape it returns."""
    tensor = expect_finite(got, what).double()
    if tensor.numel() > 1 and float(tensor.max() - tensor.min()) <= 1e-6:
        raise AssertionError(_("{what}: every value is {value}; the output does not depend on what goes in").format(
            what=what, value=f"{float(tensor.reshape(-1)[0]):.4f}"))
    if given_input is not None and tensor.dim() == given_input.dim() and tensor.shape[:-1] == given_input.shape[:-1]:
        width = min(tensor.shape[-1], given_input.shape[-1])
        if torch.allclose(tensor[..., :width], given_input[..., :width].double(), atol=1e-6):
            raise AssertionError(_("{what}: the output is the input itself").format(what=what))
    return tensor


def expect_responds(output: Any, changed: Any, what: str, given_input: torch.Tensor | None = None,
                    mixes_tokens: bool = False) -> torch.Tensor:
    """`output` for x and `changed` for x with its first token changed: a real output that moves
    with its input; with `mixes_tokens` (attention), every later token's output moves too."""
    tensor = expect_nontrivial(output, what, given_input)
    other = expect_shape(expect_finite(changed, what), tensor.shape, what).double()
    if not differs(tensor, other):
        raise AssertionError(_("{what}: the output does not change when the input does").format(what=what))
    if mixes_tokens and tensor.dim() >= 2:
        moved = (other - tensor).abs().amax(dim=tuple(d for d in range(tensor.dim()) if d != tensor.dim() - 2)) > 1e-6
        if not bool(moved[1:].all()):
            raise AssertionError(_("{what}: changing the first token leaves later tokens' outputs unchanged; "
                                   "attention should mix the tokens").format(what=what))
    return tensor


def differs(one: torch.Tensor, other: torch.Tensor, atol: float = 1e-5) -> bool:
    """Some value differs by more than `atol` (both finite tensors of one shape)."""
    return tuple(one.shape) != tuple(other.shape) or bool(((one.double() - other.double()).abs() > atol).any())


def expect_causal(outputs: Any, split: int, what: str) -> None:
    """Outputs for x, for x with tokens split.. changed, and for x with token 0 changed: the first
    change leaves tokens 0..split-1 alone and moves the rest; the second moves every later token.
    A zero, constant, NaN, token-by-token or input-independent module fails one of the three."""
    if not isinstance(outputs, list) or len(outputs) != 3:
        raise AssertionError(_("{what}: expected three outputs").format(what=what))
    base, late, early = (expect_finite(out, what) for out in outputs)
    expect_shape(late, base.shape, what)
    expect_shape(early, base.shape, what)
    unchanged = _("{what}: outputs of tokens 0..{last} after changing tokens {split}..").format(
        what=what, last=split - 1, split=split)
    expect_close(late[:, :split], base[:, :split], unchanged)
    if not differs(late[:, split:], base[:, split:]):
        raise AssertionError(_("{what}: changing tokens {split}.. does not change their outputs").format(
            what=what, split=split))
    moved = (early.double() - base.double()).abs().amax(dim=tuple(d for d in range(early.dim()) if d != 1)) > 1e-6
    unmoved = [int(t) for t in torch.nonzero(~moved[1:]).reshape(-1) + 1]
    if unmoved:
        raise AssertionError(_("{what}: changing token 0 leaves the output of token {token} unchanged; "
                               "each token should attend to the tokens before it").format(what=what, token=unmoved[0]))


def expect_equal(got: Any, expected: Any, what: str) -> None:
    if isinstance(expected, torch.Tensor):
        tensor = expect_shape(got, expected.shape, what)
        if not torch.equal(tensor.to(expected.dtype), expected):
            raise AssertionError(_("{what}: values differ from what was expected").format(what=what))
    elif got != expected:
        message = _("{what}: expected {expected}, got {got}").format(what=what, expected=_short(expected), got=_short(got))
        cause = shape_cause(got, expected)
        raise AssertionError(message if cause is None else _with_cause(message, cause))


def expect_same(student: Run, reference: Run, probe: str, what: str | None = None,
                mistakes: Iterable[Mistake] = (), **tolerance) -> None:
    """The student's value of `probe` matches the solution's: tensors and floats within tolerance,
    everything else (ints, bools, None, text, lists, tuples, dicts, nested) exactly; the message
    names the first difference (`ids[3]`, `stats['mean']`). A list of tensors is checked case by
    case. `mistakes`: values made with common mistakes from the reference's inputs, to name the
    likely one (for a list, those of its first case)."""
    what = what or shown_name(probe)
    got, expected = student[probe], reference[probe]
    if isinstance(expected, list) and expected and all(isinstance(item, torch.Tensor) for item in expected):
        if not isinstance(got, list) or len(got) != len(expected):
            raise AssertionError(_("{what}: expected {count} results, got {type}").format(
                what=what, count=len(expected), type=_kind(got)))
        for number, (one, other) in enumerate(zip(got, expected), start=1):
            expect_close(one, other, _("{what} (case {number})").format(what=what, number=number),
                         mistakes=mistakes if number == 1 else (), **tolerance)
    else:
        expect_match(got, expected, what, mistakes=mistakes, **tolerance)


def expect_match(got: Any, expected: Any, what: str, atol: float = 1e-4, rtol: float = 1e-4,
                 mistakes: Iterable[Mistake] = ()) -> None:
    """`got` has the shape of `expected` all the way down; the first difference found is the message."""
    if isinstance(expected, torch.Tensor):
        if type(got) in (int, float) and expected.dim() == 0:
            got = torch.tensor(got)  # a number where the solution kept a 0-d tensor: the same answer
        expect_close(got, expected, what, atol=atol, rtol=rtol, mistakes=mistakes)
        return
    if isinstance(got, torch.Tensor) and got.dim() == 0 and type(expected) in (int, float):
        got = got.item()  # a 0-d tensor where the solution has a number (`.sum()` without `.item()`)
    if isinstance(expected, bool) or expected is None:
        if got is not expected:
            raise AssertionError(_("{what}: expected {expected}, got {got}").format(what=what, expected=repr(expected),
                                                                                    got=_kind(got)))
    elif isinstance(expected, int):
        if type(got) is not int:
            raise AssertionError(_("{what}: expected the whole number {expected}, got {got}").format(
                what=what, expected=expected, got=_kind(got)))
        if got != expected:
            raise AssertionError(_("{what}: expected {expected}, got {got}").format(what=what, expected=expected, got=got))
    elif isinstance(expected, float):
        _expect_number(got, expected, what, atol, rtol)
    elif isinstance(expected, str):
        _expect_text(got, expected, what)
    elif isinstance(expected, list):
        if not isinstance(got, list):
            raise AssertionError(_("{what}: expected a list of {items}, got {got}").format(
                what=what, items=_items(len(expected)), got=_kind(got)))
        for index, (one, other) in enumerate(zip(got, expected)):
            expect_match(one, other, f"{what}[{index}]", atol, rtol)
        if len(got) != len(expected):
            raise AssertionError(_("{what}: expected {items}, got {got}").format(
                what=what, items=_items(len(expected)), got=len(got)))
    elif isinstance(expected, dict):
        if not isinstance(got, dict):
            raise AssertionError(_("{what}: expected a dict with keys {keys}, got {got}").format(
                what=what, keys=_short(sorted(expected)), got=_kind(got)))
        missing = [key for key in expected if key not in got]
        if missing:
            raise AssertionError(_("{what}: key {key} is missing").format(what=what, key=repr(missing[0])))
        for key, other in expected.items():
            expect_match(got[key], other, f"{what}[{key!r}]", atol, rtol)
        extra = [key for key in got if key not in expected]
        if extra:
            raise AssertionError(_("{what}: unexpected key {key}").format(what=what, key=_short(extra[0])))
    elif got != expected:
        raise AssertionError(_("{what}: expected {expected}, got {got}").format(what=what, expected=_short(expected),
                                                                                got=_kind(got)))


def _expect_number(got: Any, expected: float, what: str, atol: float, rtol: float) -> None:
    if type(got) not in (int, float):
        raise AssertionError(_("{what}: expected the number {expected}, got {got}").format(
            what=what, expected=f"{expected:.6g}", got=_kind(got)))
    if math.isnan(expected) and math.isnan(got):
        return
    if got == expected or abs(got - expected) <= atol + rtol * abs(expected):
        return
    raise AssertionError(_("{what}: expected {expected}, got {got}").format(what=what, expected=f"{expected:.6g}",
                                                                            got=f"{got:.6g}"))


def _expect_text(got: Any, expected: str, what: str) -> None:
    if not isinstance(got, str):
        raise AssertionError(_("{what}: expected text {expected}, got {got}").format(
            what=what, expected=_short(expected), got=_kind(got)))
    if got == expected:
        return
    at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    start = max(0, at - 10)
    message = _("{what}: texts differ at character {at}: expected {expected}, got {got}").format(
        what=what, at=at, expected=_short(expected[start:at + 20]), got=_short(got[start:at + 20]))
    if len(got) != len(expected):
        message += " " + _("(expected {expected} characters, got {got})").format(expected=len(expected), got=len(got))
    raise AssertionError(message)


def _items(count: int) -> str:
    return ngettext("{count} item", "{count} items", count).format(count=count)


def _kind(value: Any) -> str:
    """A value as a message shows it: its type, and a short form of it."""
    if isinstance(value, torch.Tensor):
        return _("a tensor of shape {shape}").format(shape=_shape(value.shape))
    if isinstance(value, Opaque):
        return _("a {type}").format(type=plain_name(value.type_name))
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, list):
        return _("a list of {items}").format(items=_items(len(value)))
    if isinstance(value, dict):
        return _("a dict with keys {keys}").format(keys=_short(sorted(value)))
    return f"{type(value).__name__} {_short(value)}"


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
    """A value in a message, as code: a student's text shows as it is, never as their Markdown or HTML."""
    text = repr(value)
    return code(text if len(text) <= 80 else text[:77] + "...")
