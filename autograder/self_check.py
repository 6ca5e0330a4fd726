"""`autograder check`: a student's own check of their notebook, with the course at hand (the
visible tests) or without it (the checks file handed out with the notebook). Returns lines to
print and whether every check passed."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .config import Limits
from .engine.executor import Executor
from .engine.fork_client import ForkClient
from .errors import NotebookReadError
from .i18n import _, language
from .notebook_check import question_report
from .notebooks import cell_text, read_notebook
from .protocol.jobs import CellJob
from .protocol.plaindata import decode
from .scoring.grader import Grader, load_assignment
from .scoring.suite import VISIBLE
from .wording import cell_note


def check_with_course(root: Path, slug: str, notebook: Path, cache_dir: Path,
                      server: ForkClient | None = None) -> tuple[list[str], bool]:
    """Grade the notebook as the grader would, and show the visible tests only."""
    assignment = load_assignment(root, slug)
    grader = Grader(assignment, cache_dir, server)
    try:
        report = grader.grade_file(notebook, notebook.stem)
    finally:
        grader.close()
    if report.error:
        raise NotebookReadError(notebook, report.error)
    with language(assignment.config.language):
        return _course_report(report, notebook, assignment.config.title)


def _course_report(report, notebook: Path, title: str) -> tuple[list[str], bool]:
    lines = [_("Checking {notebook} against the visible tests of {title}").format(notebook=notebook.name, title=title), ""]
    passed = failed = hidden = 0
    for question in report.questions:
        visible = [o for o in question.outcomes if o.test.visibility == VISIBLE]
        hidden += len(question.outcomes) - len(visible)
        ok = sum(o.passed for o in visible)
        passed, failed = passed + ok, failed + len(visible) - ok
        lines.append(f"{'✅' if ok == len(visible) else '❌'} " + _("{question}: {passed}/{total} visible tests passed").format(
            question=question.name, passed=ok, total=len(visible)))
        lines += [f"     - {o.test.name}: {o.message}" for o in visible if not o.passed]
    lines += [_("note: {note}").format(note=note) for note in report.notes]
    for index, cell in enumerate(report.cells):
        note = cell_note(cell, report.cells[:index])
        if note:
            lines.append(_("note: {note}").format(note=f"{cell.label}: {note}"))
    lines += ["", _("{passed} passed, {failed} failed").format(passed=passed, failed=failed),
              _("{count} hidden tests are run when your notebook is graded; they are not shown here.").format(count=hidden)]
    return lines, failed == 0


def check_offline(notebook: Path, checks_file: Path) -> tuple[list[str], bool]:
    """Run the notebook in an isolated worker and compare its variables with the checks file."""
    data = json.loads(checks_file.read_text(encoding="utf-8"))
    with language(data.get("language", "en")):
        return _check_offline(notebook, checks_file, data["questions"])


def _check_offline(notebook: Path, checks_file: Path, questions: dict) -> tuple[list[str], bool]:
    nb = read_notebook(notebook)
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as folder:
        probes = Path(folder) / "probes.py"
        lines = ["from autograder.probes import Probes", "probes = Probes()"]
        lines += [f"probes.capture({c['cell']!r}, {c['variable']!r})"
                  for entry in questions.values() for c in entry["checks"]]
        probes.write_text("\n".join(sorted(set(lines), key=lines.index)) + "\n")
        executor = Executor(str(probes), Limits())
        try:
            executor.worker_setup()  # a machine where workers cannot run is not the student's failing check
            code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
            cells = [CellJob(c.get("id") or f"cell-{i}", cell_text(c.source), "answer", label=f"code cell {n}")
                     for n, (i, c) in enumerate(code_cells, 1)]
            execution = executor.run(cells)
        finally:
            executor.close()
    report = [_("Checking {notebook} with {checks} (the visible checks handed out with it)").format(
        notebook=notebook.name, checks=checks_file.name), ""]
    all_passed = True
    for entry in questions.values():
        values = {}
        for check in entry["checks"]:
            result = execution.probes.get(f"{check['cell']}:{check['variable']}")
            if result is not None and result.ok:
                values[check["variable"]] = decode(result.value)
        lines, passed = question_report(entry, values)
        report += lines
        all_passed = all_passed and passed
    report += ["", _("Hidden tests run when your notebook is graded; they are not part of this check.")]
    return report, all_passed
