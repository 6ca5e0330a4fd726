"""Notes a worker sends about a cell, as a kind and its arguments, never as sentences: the worker
runs next to student code, so what it sends is the student's claim, and a sentence it wrote could
carry Markdown, HTML or words that pass for the grader's. The grader words each kind itself, from
its catalog, and shows every text argument as code (`autograder.wording.worker_note`)."""
from __future__ import annotations

PLACEHOLDER_LEFT = "placeholder left"  # `### your code` is still in the cell
STOPPED = "stopped"  # the cell ran past its time limit (the grader knows the limit)
MAGIC = "magic"  # text: a line magic that was ignored
CELL_MAGIC = "cell magic"  # text: a cell magic that was ignored
SHELL = "shell"  # text: a shell command that was not run
FIGURE_TOO_LARGE = "figure too large"  # number: the figure's number
FIGURES_DROPPED = "figures dropped"  # count: figures beyond the limit
FIGURES_FAILED = "figures failed"  # drawing the figures failed or took too long

# Each kind's arguments and their types; anything else in a note is dropped.
ARGUMENTS: dict[str, dict[str, type]] = {
    PLACEHOLDER_LEFT: {}, STOPPED: {}, FIGURES_FAILED: {},
    MAGIC: {"text": str}, CELL_MAGIC: {"text": str}, SHELL: {"text": str},
    FIGURE_TOO_LARGE: {"number": int}, FIGURES_DROPPED: {"count": int},
}
_TEXT_CHARS = 300
_LARGEST = 1_000_000


def note(kind: str, **args: object) -> dict:
    """A note as the worker sends it."""
    return {"kind": kind, "args": args}


def parse_note(value: object) -> tuple[str, dict] | None:
    """A note as sent, checked: a known kind with exactly its arguments, texts cut and numbers
    bounded; None for anything else (a worker's own code sends nothing else)."""
    if not isinstance(value, dict) or value.get("kind") not in ARGUMENTS or not isinstance(value.get("args"), dict):
        return None
    kind, args = value["kind"], value["args"]
    wanted = ARGUMENTS[kind]
    if set(args) != set(wanted):
        return None
    kept: dict[str, object] = {}
    for name, kind_of in wanted.items():
        item = args[name]
        if kind_of is int:
            if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item <= _LARGEST:
                return None
            kept[name] = item
        elif isinstance(item, str):
            kept[name] = item[:_TEXT_CHARS]
        else:
            return None
    return kind, kept
