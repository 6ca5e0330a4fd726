"""What a grader extracts from a finished notebook: named probes, run inside the worker.

A probe reads the student's namespace (after a given cell, or at the end) and returns plain
values: tensors, numbers, text, lists, dicts. Probes hold recipes for inputs, never expected
values or solution code, because they run in the same process as the student's code.
"""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .i18n import _

Namespace = dict[str, Any]
END = "__end__"


@dataclass
class Probes:
    """The probes of one assignment, grouped by the cell after which they run."""

    by_cell: dict[str, list[tuple[str, Callable[[Namespace], Any]]]] = field(default_factory=dict)
    # The assignment's `seeds` (assignment.yaml), set by the worker: probes make unseen inputs from them.
    seeds: tuple[int, ...] = (0, 1, 2)
    # Makes the inputs and weights the hidden tests use, in the grader (never next to student code).
    maker: Callable[[tuple[int, ...]], dict] | None = None
    # Those inputs by name, set by the worker from its job (protocol.plaindata.Inputs: decoded once,
    # a fresh copy on every read).
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def grader_inputs(self, function):
        """Register the function that makes the tests' inputs from the seeds; it runs in the grader,
        which sends its values to every worker (`given`) and keeps its own copy for the tests."""
        if self.maker is not None:
            raise ValueError("grader_inputs is registered twice")
        self.maker = function
        return function

    def given(self, name: str) -> Any:
        """A fresh copy of the grader's input `name` (a copy each time: student code may change it in place)."""
        if name not in self.inputs:
            raise LookupError(f"no grader input named '{name}'; add it to the @probes.grader_inputs function")
        return self.inputs[name]

    def after(self, cell_id: str, name: str | None = None):
        """Run the decorated function right after cell `cell_id` (variables are often reassigned later)."""
        def register(function):
            self._add(cell_id, name or function.__name__, function)
            return function
        return register

    def at_end(self, function=None, *, name: str | None = None):
        """Run the decorated function once every cell has run."""
        def register(fn):
            self._add(END, name or fn.__name__, fn)
            return fn
        return register(function) if function is not None else register

    def _add(self, cell_id: str, name: str, function) -> None:
        if name in self.names():
            raise ValueError(f"probe '{name}' is defined twice")
        self.by_cell.setdefault(cell_id, []).append((name, function))

    def capture(self, cell_id: str, *variables: str) -> None:
        """One probe per variable, named '<cell id>:<variable>', reading it right after the cell."""
        for variable in variables:
            self._add(cell_id, f"{cell_id}:{variable}", lambda ns, variable=variable: need(ns, variable))

    def value(self, cell_id: str, expression: str) -> None:
        """A probe named '<cell id>:<expression>': the expression evaluated right after the cell, on
        the notebook's own names (e.g. `sa_v1(inputs)`). Built from the lesson's data only, it can
        be handed to students as a check."""
        self._add(cell_id, f"{cell_id}:{expression}", lambda ns: evaluate(ns, expression))

    def names(self) -> list[str]:
        return [name for probes in self.by_cell.values() for name, _probe in probes]

    def cells(self) -> set[str]:
        return set(self.by_cell) - {END}


@contextmanager
def replaced(ns: Namespace, name: str, stand_in: Any):
    """Let the student's code find `stand_in` under `name` for a while, e.g. a simple stand-in for a
    class their module builds on, so that a question grades that module alone."""
    saved = need(ns, name)
    ns[name] = stand_in
    try:
        yield
    finally:
        ns[name] = saved


def need(ns: Namespace, name: str) -> Any:
    """The student's variable `name`, or a clear error saying it was never defined."""
    if name not in ns:
        raise NameError(_("'{name}' is not defined; run the cell that defines it").format(name=name))
    return ns[name]


def figures() -> list[dict]:
    """What the figures open after the cell plot, as plain values a test can compare (no pixels): per
    figure its `title` (suptitle) and `axes`, each with `title`, `xlabel`, `ylabel`, `legend` (texts),
    `lines` ({label, x, y}) and `bars` ({label, x, height}). Empty when the notebook drew nothing."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    return [describe_figure(plt.figure(number)) for number in plt.get_fignums()]


def describe_figure(figure) -> dict:
    """One matplotlib figure as plain values (see `figures`)."""
    import numpy
    from matplotlib.container import BarContainer

    def label(artist) -> str:
        text = str(artist.get_label())
        return "" if text.startswith("_") else text  # matplotlib's own names for unlabelled artists

    def floats(values) -> numpy.ndarray:
        return numpy.asarray(values, dtype=numpy.float64).reshape(-1)

    axes = []
    for ax in figure.get_axes():
        legend = ax.get_legend()
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        axes.append({
            "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend is not None else [],
            "lines": [{"label": label(line), "x": floats(line.get_xdata()), "y": floats(line.get_ydata())}
                      for line in ax.get_lines()],
            "bars": [{"label": label(bar), "x": floats([p.get_x() + p.get_width() / 2 for p in bar.patches]),
                      "height": floats([p.get_height() for p in bar.patches])} for bar in bars],
        })
    suptitle = getattr(figure, "_suptitle", None)
    return {"title": suptitle.get_text() if suptitle is not None else "", "axes": axes}


def evaluate(ns: Namespace, expression: str) -> Any:
    """`expression` evaluated on the notebook's names (a name it uses but lacks is said as by `need`)."""
    try:
        return eval(compile(expression, "<check>", "eval", dont_inherit=True), ns)  # noqa: S307  (the notebook's own code)
    except NameError as missing:
        name = getattr(missing, "name", None) or expression
        raise NameError(_("'{name}' is not defined; run the cell that defines it").format(name=name)) from None


def load_probes(path: str | None) -> Probes:
    """The `probes` object of an assignment's probes.py (an empty set for None)."""
    if path is None:
        return Probes()
    spec = importlib.util.spec_from_file_location("assignment_probes", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load probes from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    probes = getattr(module, "probes", None)
    if not isinstance(probes, Probes):
        raise ImportError(f"{path} defines no `probes = Probes()`")
    return probes
