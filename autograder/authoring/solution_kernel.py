"""Execute the trusted solution notebook in a Jupyter kernel, as a student's Jupyter would run it."""
from __future__ import annotations

import re
import time
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from ..config import Limits
from ..errors import Location, SolutionExecutionError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(r"Cell In\[\d*\], line (\d+)")


def execute_solution(
    nb: NotebookNode,
    workdir: Path,
    limits: Limits,
    where: Path,
    source_lines: dict[str, tuple[int, ...]],
    source_index: dict[str, int],
) -> NotebookNode:
    """Run every cell in order, in place; the first failing cell stops the build with its source line."""
    client = NotebookClient(
        nb,
        timeout=limits.cell_seconds,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        record_timing=False,
        # The kernel flushes stdout at timing-dependent points; merged streams make builds reproducible.
        coalesce_streams=True,
        allow_errors=False,
        # The kernel warns that it talks over local TCP; that is expected and only noise here.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    deadline = time.monotonic() + limits.notebook_seconds
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.timeout = int(max(1, min(limits.cell_seconds, deadline - time.monotonic())))
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                raise _failure(cell, where, source_index, None,
                               f"the solution did not finish within {client.timeout:.0f} s (limits in assignment.yaml)") from None
            except DeadKernelError:
                raise _failure(cell, where, source_index, None, "the kernel died while running the solution") from None
            except CellExecutionError as exc:
                line = _error_line(exc, source_lines.get(cell.id, ()))
                raise _failure(cell, where, source_index, line,
                               f"the solution raised {exc.ename}: {exc.evalue}") from None
    return nb


def _error_line(exc: CellExecutionError, lines: tuple[int, ...]) -> int | None:
    """Map the kernel's 'Cell In[n], line k' of the solution cell back to the source cell's line."""
    match = _CELL_LINE.search(_ANSI.sub("", str(exc.traceback)))
    if match is None:
        return None
    solution_line = int(match[1])
    return lines[solution_line - 1] if 0 < solution_line <= len(lines) else None


def _failure(cell, where: Path, source_index: dict[str, int], line: int | None, message: str) -> SolutionExecutionError:
    return SolutionExecutionError(Location(where, source_index.get(cell.id), cell.id, line), message)
