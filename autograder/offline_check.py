"""`autograder check` where the course is not at hand (a student's repository): the notebook's
shipped checks file says which variables to read after which cells and what they should be."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .config import Limits
from .execute import Executor
from .jobs import CellJob
from .notebook_check import question_report
from .notebook_file import read_notebook
from .plaindata import decode


def check_offline(notebook: Path, checks_file: Path) -> tuple[list[str], bool]:
    """Run the notebook in an isolated worker and compare its variables with the checks file."""
    questions = json.loads(checks_file.read_text(encoding="utf-8"))["questions"]
    nb = read_notebook(notebook)
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as folder:
        probes = Path(folder) / "probes.py"
        lines = ["from autograder.probes import Probes", "probes = Probes()"]
        lines += [f"probes.capture({c['cell']!r}, {c['variable']!r})"
                  for entry in questions.values() for c in entry["checks"]]
        probes.write_text("\n".join(sorted(set(lines), key=lines.index)) + "\n")
        executor = Executor(str(probes), Limits())
        try:
            cells = [CellJob(c.get("id") or f"cell-{i}", c.source, "answer", label=f"code cell {n}")
                     for n, (i, c) in enumerate(((i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"), 1)]
            execution = executor.run(cells)
        finally:
            executor.close()
    report, all_passed = [], True
    for entry in questions.values():
        values = {}
        for check in entry["checks"]:
            result = execution.probes.get(f"{check['cell']}:{check['variable']}")
            if result is not None and result.ok:
                values[check["variable"]] = decode(result.value)
        lines, passed = question_report(entry, values)
        report += lines
        all_passed = all_passed and passed
    return report, all_passed
