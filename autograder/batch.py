"""Grade a batch of submissions: one result folder per submission written as soon as it is graded,
reused on a rerun, and the gradebook last; shards of a batch for a CI matrix."""
from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from .config import AssignmentConfig
from .engine.fork_client import ForkClient
from .errors import AutograderError, GraderError
from .files import write_atomically
from .i18n import _, language
from .outputs.hand_answers import ANSWERS, hand_answers
from .outputs.hand_grades import QUESTIONS, questions_json, with_hand_scores
from .outputs.merge import SHARD, in_shard
from .outputs.results import feedback_body, feedback_markdown, graded_notebook, grades_csv, results_json
from .outputs.review_store import DATABASE, ReviewStore
from .protocol.jobs import NOT_ANSWERED
from .protocol.messages import WorkerSetup
from .scoring.grader import Assignment, Grader, submission_bytes
from .scoring.points import GradeReport, zero_scores

RECORD = "record.json"


def default_jobs() -> int:
    """Twice the cores: a worker waits now and then (joining its cgroup, on the grader), and the
    others keep the cores busy meanwhile; measured with `make bench`, more gains nothing."""
    return 2 * (os.cpu_count() or 1)


def unique_stems(paths: list[Path]) -> list[str]:
    """A result folder name per submission: its file stem, made safe and unique within the batch.

    A name keeps letters, digits, '_' and '-' only: never a dot, while everything the grader writes
    beside the result folders has one (grades.csv, shard.json, report.html), so no file name a
    student picks can take the place of the gradebook. Unique also where case is ignored.
    """
    stems, seen = [], set()
    for path in paths:
        base = _shortened(re.sub(r"[^\w-]", "_", path.stem)) or "submission"
        stem, n = base, 1
        while stem.casefold() in seen:
            n += 1
            stem = f"{base}-{n}"
        seen.add(stem.casefold())
        stems.append(stem)
    return stems


def _shortened(name: str, max_bytes: int = 120) -> str:
    """At most `max_bytes` of UTF-8, whole characters: a file system refuses names over 255 bytes."""
    return name.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def grade_batch(assignment: Assignment, paths: list[Path], out: Path, jobs: int, cache_dir: Path,
                on_report: Callable[[GradeReport, bool], None] = lambda report, reused: None,
                on_setup: Callable[[WorkerSetup], None] = lambda setup: None,
                on_warning: Callable[[str], None] = lambda text: None,
                shard: tuple[int, int] | None = None, server: ForkClient | None = None,
                note: str = "") -> list[GradeReport]:
    """Grade every path, writing each result as soon as it is known; the gradebook last. Returns the
    gradebook's rows (`on_report` is given each whole report).

    A file whose result is already in `out` (same bytes, same tests) is not graded again, so a
    batch stopped halfway is completed by running the same command again. With `shard` (K, N) only
    every N-th file from the K-th is graded; names are chosen over the whole batch, so shards join.
    """
    grader = Grader(assignment, cache_dir, server)
    on_setup(grader.executor.worker_setup())
    # Torch, the tests and the reference values live as long as the batch: keep the collector off them.
    gc.collect()
    gc.freeze()
    config = assignment.config
    fingerprint = grader.fingerprint()
    lock = threading.Lock()
    # Points TAs gave by hand in an earlier review of this folder are kept while the answer stays the same.
    store = ReviewStore(out / DATABASE) if (out / DATABASE).is_file() else None
    by_hand = any(q.manual for q in config.questions)

    def one(item: tuple[Path, str]) -> GradeReport:
        path, stem = item
        folder = out / stem
        try:
            raw = submission_bytes(path)
        except AutograderError:
            raw = None  # grade_file says what is wrong
        digest = hashlib.sha256(raw).hexdigest() if raw is not None else None
        report = _earlier_result(folder, path, digest, fingerprint, config)
        reused = report is not None
        if report is not None and store is not None:
            report = with_hand_scores(report, _hands(store.scores(stem)))
        if report is None:
            try:
                report = grader.grade_file(path, stem, raw)
                if note:
                    report = replace(report, notes=(note, *report.notes))
            except GraderError:
                raise
            except Exception as exc:  # a bug of ours must not cost the student their row
                with language(config.language):
                    error = _("the grader failed on this file ({error}: {message}); tell the course staff").format(
                        error=type(exc).__name__, message=exc)
                report = GradeReport(path.name, stem, zero_scores(config), error=error)
            files = {}
            if by_hand and raw is not None and report.error is None:
                ran = {cell.id: (cell.output, cell.figures) for cell in report.cells if cell.status != NOT_ANSWERED}
                answers = hand_answers(raw, config, assignment.notebook_cells, ran)
                files[folder / ANSWERS] = json.dumps(answers, ensure_ascii=False).encode("utf-8")
                if store is not None:
                    store.flag_changed(stem, {q: a["hash"] for q, a in answers.items()})
                    report = with_hand_scores(report, _hands(store.scores(stem)))
            # record.json goes last: it is the mark that this submission is done. The feedback is made once:
            # feedback.md, results.json's output and the graded notebook show it, record.json keeps its body.
            with language(config.language):
                body = feedback_body(report)
            feedback = feedback_markdown(report, config, body)
            files.update({folder / "results.json": results_json(report, config, feedback),
                          folder / "feedback.md": feedback,
                          folder / "graded.ipynb": graded_notebook(report, feedback, grader.test_cells, config),
                          folder / RECORD: _record(report, digest, fingerprint, body)})
            write_atomically(files, durable=False)
        with lock:
            on_report(report, reused)
        return gradebook_row(report)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            mine = [item for index, item in enumerate(zip(paths, unique_stems(paths))) if in_shard(index, shard)]
            reports = list(pool.map(one, mine))
        if grader.executor.fallbacks:
            on_warning(f"{grader.executor.fallbacks} worker(s) printed tensors with torch's own code after the quick "
                       "measurement failed (a torch this package does not know yet); grades are unaffected")
    finally:
        grader.close()
        if store is not None:
            store.close()
    k, n = shard or (1, 1)
    handout = [cell.source for cell in assignment.release]
    write_atomically({out / "grades.csv": grades_csv(reports, config), out / QUESTIONS: questions_json(config, handout),
                      out / SHARD: json.dumps({"shard": k, "of": n, "fingerprint": fingerprint,
                                               "submissions": len(paths)}).encode("utf-8")})
    return reports


def _hands(scores: dict) -> dict:
    """(submission, question) -> score, of one submission -> question -> score."""
    return {question: score for (_, question), score in scores.items()}


def gradebook_row(report: GradeReport) -> GradeReport:
    """What the batch keeps of a report once its files are written: its scores, not its cells and
    test messages, so that memory stays flat however many submissions a batch has."""
    return replace(report, questions=tuple(replace(q, outcomes=()) for q in report.questions), cells=(), notes=())


def _record(report: GradeReport, digest: str | None, fingerprint: str, body: str) -> bytes:
    return json.dumps({"submission": report.submission, "sha256": digest, "fingerprint": fingerprint,
                       "error": report.error, "seconds": report.seconds, "peak_memory": report.peak_memory,
                       "second_run_seconds": report.second_run_seconds,
                       # The real reasons, hidden tests included: for the staff report, never shown to students.
                       "failures": [[f"{q.name}: {o.test.name}", o.message] for q in report.questions
                                    for o in q.outcomes if not o.passed],
                       "max_scores": {q.id: q.max_score for q in report.questions},
                       # Points of the tests only: the TAs' are in the review database (review.sqlite).
                       "scores": {q.id: q.test_score for q in report.questions},
                       # What the tests told the student, kept to write feedback.md again with a TA's points.
                       "feedback_body": body}).encode("utf-8")


def _earlier_result(folder: Path, path: Path, digest: str | None, fingerprint: str,
                    config: AssignmentConfig) -> GradeReport | None:
    """The result graded before for these exact bytes under these exact tests, if any."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if digest is None or record.get("sha256") != digest or record.get("fingerprint") != fingerprint \
            or not (folder / "results.json").is_file():
        return None
    scores = record.get("scores", {})
    questions = tuple(replace(q, score=float(scores.get(q.id, 0.0))) for q in zero_scores(config))
    return GradeReport(path.name, folder.name, questions, error=record.get("error"), seconds=record.get("seconds", 0.0),
                       peak_memory=record.get("peak_memory"))


def expand(arguments: Iterable[Path]) -> list[Path]:
    """Submission arguments -> files: a folder stands for the entries directly inside it.

    Links and special files in a folder are kept, so that each gets its row and a message saying
    it was not graded; only subfolders (and hidden files) are left out.
    """
    files = []
    for argument in arguments:
        if argument.is_dir():  # a folder named on the command line may be a link: the TA chose it
            files += sorted(p for p in argument.iterdir()
                            if not p.name.startswith(".") and (p.is_symlink() or not p.is_dir()))
        else:
            files.append(argument)
    return files
