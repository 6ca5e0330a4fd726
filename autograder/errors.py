"""Typed errors whose messages tell an instructor or student where the problem is and what to do."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """Where a problem sits: a file, and optionally a cell and a line inside it."""

    file: Path | str
    cell_index: int | None = None
    cell_id: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts = [str(self.file)]
        if self.cell_index is not None:
            cell = f"cell {self.cell_index}"
            if self.cell_id:
                cell += f" (id {self.cell_id})"
            parts.append(cell)
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ": ".join(parts)


class AutograderError(Exception):
    """A problem with the user's input; the CLI prints it as one line and exits non-zero."""

    def __init__(self, location: Location | Path | str, message: str):
        if not isinstance(location, Location):
            location = Location(location)
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


class NotebookReadError(AutograderError):
    """The file is not a notebook we can read (bad JSON, wrong format, wrong version)."""


class ConfigError(AutograderError):
    """assignment.yaml has an unknown key, a wrong type or a missing value."""


class MarkerError(AutograderError):
    """A solution marker in the source notebook is misplaced, unclosed or leaves nothing to hide."""


class SolutionExecutionError(AutograderError):
    """The solution raised while it was executed during the build."""


class GraderError(AutograderError):
    """The grader itself could not do its job (not the submission's fault); the batch exits non-zero."""

    def __init__(self, message: str):
        super().__init__("autograder", message)
