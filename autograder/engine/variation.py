"""Lesson data the grader varies: the literal tensors and seeds of the cells an instructor marked.

A notebook that prints its step-by-step values can be answered by typing the printout back in.
The grader therefore runs each submission a second time with the marked cells' data replaced by
data it made (the same shapes and ranges, other numbers and seeds) and compares those steps with
the solution run on the same data: computed steps pass both runs, typed-back ones only the first.
"""
from __future__ import annotations

import ast
import random

from ..errors import AutograderError

_TENSOR_MAKERS = {"tensor", "as_tensor"}
_ATTEMPTS = 20


class NothingToVary(ValueError):
    """A marked cell has no literal tensor and no seed the grader could replace."""


def vary_source(source: str, rng: random.Random) -> str:
    """`source` with every `torch.manual_seed(<int>)` given another seed and every
    `torch.tensor(<nested list of numbers>)` other numbers of the same shape, kind and range."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NothingToVary(f"its code does not parse ({exc.msg})") from None
    edits: list[tuple[ast.expr, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        first = node.args[0]
        if name == "manual_seed" and _number(first) is not None and isinstance(_number(first), int):
            edits.append((first, str(_other_seed(int(_number(first)), rng))))  # type: ignore[arg-type]
        elif name in _TENSOR_MAKERS and isinstance(first, (ast.List, ast.Tuple)):
            values = _numbers(first)
            if values:
                floats = any(isinstance(v, float) for v in values) or any(k.arg == "dtype" for k in node.keywords)
                edits.append((first, _literal(first, _new_numbers(values, floats, rng))))
    if not edits:
        raise NothingToVary("it has no torch.manual_seed(<number>) and no torch.tensor([...]) of numbers")
    return _apply(source, edits)


def vary_cells(sources: dict[str, str], seeds: tuple[int, ...], where) -> dict[str, str]:
    """Each marked cell's varied source (the same for a given assignment and seeds, so cacheable)."""
    varied = {}
    for cell_id, source in sources.items():
        rng = random.Random(f"{list(seeds)}:{cell_id}")
        try:
            varied[cell_id] = vary_source(source, rng)
        except NothingToVary as exc:
            raise AutograderError(where, f"lesson_data: the grader cannot vary cell '{cell_id}': {exc}") from None
    return varied


def _number(node: ast.expr) -> int | float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    return None


def _numbers(node: ast.expr) -> list[int | float] | None:
    """The numbers of a nested list literal, or None when it holds anything else."""
    if isinstance(node, (ast.List, ast.Tuple)):
        found: list[int | float] = []
        for item in node.elts:
            inner = _numbers(item)
            if inner is None:
                return None
            found += inner
        return found
    number = _number(node)
    return None if number is None else [number]


def _new_numbers(values: list, floats: bool, rng: random.Random) -> list:
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    for _ in range(_ATTEMPTS):
        made = [round(rng.uniform(low, high), 2) if floats else rng.randint(int(low), int(high)) for _ in values]
        if made != values:
            return made
    return [v + 1 for v in values]


def _literal(node: ast.expr, numbers: list) -> str:
    """`node`'s nesting with `numbers` in place of its own, as Python source."""
    taken = iter(numbers)

    def build(item: ast.expr) -> str:
        if isinstance(item, (ast.List, ast.Tuple)):
            inner = ", ".join(build(e) for e in item.elts)
            return f"[{inner}]" if isinstance(item, ast.List) else f"({inner}{',' if len(item.elts) == 1 else ''})"
        return repr(next(taken))

    return build(node)


def _other_seed(seed: int, rng: random.Random) -> int:
    while True:
        other = rng.randrange(1, 1 << 31)
        if other != seed:
            return other


def _apply(source: str, edits: list[tuple[ast.expr, str]]) -> str:
    """Replace each node's text (by its position) with the new text, last first."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode("utf-8")))
    data = source.encode("utf-8")

    def offset(line: int, col: int) -> int:
        return starts[line - 1] + col  # ast columns are UTF-8 byte offsets

    for node, text in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        begin = offset(node.lineno, node.col_offset)
        end = offset(node.end_lineno or node.lineno, node.end_col_offset or node.col_offset)
        data = data[:begin] + text.encode("utf-8") + data[end:]
    return data.decode("utf-8")
