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
from .notebook_check import Unavailable, has_signature, question_report
from .notebooks import PLACEHOLDER, cell_text, read_notebook
from .protocol.jobs import NOT_ANSWERED, OK, CellJob
from .protocol.plaindata import decode
from .scoring.grader import Grader, load_assignment
from .scoring.suite import VISIBLE
from .wording import blocked_by, cell_note, cell_title, heading_of


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
        if not visible:  # nothing this check can say: not a pass
            by_hand = question.hand_max > 0 and not question.outcomes
            text = (_("{question}: graded by your TA, not by this check") if by_hand
                    else _("{question}: hidden tests only; they run when your notebook is graded"))
            lines.append(f"{'✍️' if by_hand else '🔒'} " + text.format(question=question.name))
            continue
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
    lines += ["", _("{passed} passed, {failed} failed").format(passed=passed, failed=failed)]
    if hidden:
        lines.append(_("{count} hidden tests are run when your notebook is graded; they are not shown here.").format(
            count=hidden))
    return lines, failed == 0


def check_offline(notebook: Path, checks_file: Path) -> tuple[list[str], bool]:
    """Run the notebook in an isolated worker and compare its variables with the checks file."""
    data = json.loads(checks_file.read_text(encoding="utf-8"))
    with language(data.get("language", "en")):
        return _check_offline(notebook, checks_file, data)


def _check_offline(notebook: Path, checks_file: Path, data: dict) -> tuple[list[str], bool]:
    questions = data["questions"]
    checks = [check for entry in questions.values() for check in entry["checks"]]
    nb = read_notebook(notebook)
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as folder:
        probes = Path(folder) / "probes.py"
        lines = ["from autograder.probes import Probes", "probes = Probes()"]
        lines += [f"probes.value({c['cell']!r}, {c['variable']!r})" for c in checks]
        probes.write_text("\n".join(sorted(set(lines), key=lines.index)) + "\n")
        files = {name: notebook.parent / name for name in data.get("files", [])
                 if isinstance(name, str) and (notebook.parent / name).exists()}
        executor = Executor(str(probes), Limits(), course_files=files)
        try:
            executor.worker_setup()  # a machine where workers cannot run is not the student's failing check
            execution = executor.run(_cells(nb, checks))
        finally:
            executor.close()
    status = {cell.id: cell for cell in execution.cells}
    report = [_("Checking {notebook} with {checks} (the visible checks handed out with it)").format(
        notebook=notebook.name, checks=checks_file.name), ""]
    all_passed = True
    for entry in questions.values():
        values: dict = {}
        for check in entry["checks"]:
            cell = status.get(check["cell"])
            result = execution.probes.get(f"{check['cell']}:{check['variable']}")
            if cell is not None and cell.status != OK:
                values[check["variable"]] = Unavailable(blocked_by(cell))
            elif result is not None and result.ok:
                values[check["variable"]] = decode(result.value)
        lines, passed = question_report(entry, values)
        report += lines
        all_passed = all_passed and passed
    by_hand = data.get("by_hand")
    report += ["✍️ " + _("{question}: graded by your TA, not by this check").format(question=name)
               for name in (by_hand if isinstance(by_hand, list) else []) if isinstance(name, str)]
    report += ["", _("Hidden tests run when your notebook is graded; they are not part of this check.")]
    return report, all_passed


def _cells(nb, checks: list[dict]) -> list[CellJob]:
    """The notebook's code cells to run, each under the id of the released cell it is (by its id, or
    by its released lines when a tool dropped the ids), named as the student sees it."""
    wanted = {check["cell"]: check.get("signature", []) for check in checks}
    ids = {c.get("id") for c in nb.cells}
    cells: list[CellJob] = []
    heading, taken = "", set()
    for index, c in enumerate(nb.cells):
        if c.cell_type == "markdown":
            heading = heading_of(cell_text(c.source)) or heading
            continue
        if c.cell_type != "code":
            continue
        source = cell_text(c.source)
        cell_id = c.get("id") or f"cell-{index}"
        if cell_id not in wanted:
            cell_id = next((known for known, sign in wanted.items()
                            if known not in ids and known not in taken and has_signature(source, sign)), cell_id)
        taken.add(cell_id)
        skip = NOT_ANSWERED if PLACEHOLDER in source else None
        cells.append(CellJob(cell_id, source, "answer", skip=skip, label=f"code cell {len(cells) + 1}",
                             title=cell_title(heading, source)))
    return cells
