"""Command line: argument parsing and presentation only; the work is done by the pipeline modules."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from .course import Layout, course_files, resolve_slugs
from .errors import AutograderError, GraderError
from .files import write_atomically

# Modules that import torch or nbclient (building, grading, exports, hidden tests) are imported by
# the commands that need them: `merge` and `build --check`'s argument errors start in a fraction of
# a second, and `grade` starts its fork server before it imports torch itself, so that both
# imports run at once.


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except GraderError as error:
        print(f"grader error: {printable(error.message)}", file=sys.stderr)
        return 3
    except AutograderError as error:
        print(f"error: {printable(_relative(error, args.root.resolve()))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _relative(error: AutograderError, root: Path) -> str:
    """The error's message with its file shown relative to the course root, as users type it."""
    file = Path(error.location.file)
    if file.is_absolute() and file.is_relative_to(root):
        return f"{dataclasses.replace(error.location, file=file.relative_to(root))}: {error.message}"
    return str(error)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Build and grade notebook assignments.")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course repository root (default: current folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="compile source notebooks into student and solution notebooks")
    build.add_argument("slugs", nargs="*", metavar="SLUG", help="assignments to build (default: all)")
    build.add_argument("--check", action="store_true",
                       help="write nothing; fail if a committed generated notebook differs from what its source builds")
    build.set_defaults(run=_build)

    grade = commands.add_parser("grade", help="grade submissions in isolated workers; "
                                              "write grades.csv and per-submission results")
    grade.add_argument("slug", metavar="SLUG")
    grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                       help="notebook files, or folders whose files are all graded")
    grade.add_argument("--out", type=Path, required=True, help="folder for grades.csv and <submission>/results.json")
    grade.add_argument("--jobs", type=int, default=None,
                       help="submissions graded at once (default: twice the number of cores)")
    grade.add_argument("--shard", metavar="K/N", help="grade only shard K of N (for a CI matrix; join with `merge`)")
    grade.add_argument("--one", action="store_true",
                       help="the SUBMISSIONs are one student's files: grade only the notebook of this assignment "
                            "(its metadata, else its name) and say so in the feedback (Gradescope)")
    grade.set_defaults(run=_grade)

    export = commands.add_parser("export", help="an autograder for another platform (gradescope, otter)")
    export.add_argument("platform", choices=["gradescope", "otter"])
    export.add_argument("slug", metavar="SLUG")
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(run=_export)

    fetch = commands.add_parser("fetch", help="download the resources assignment.yaml lists into the course's cache")
    fetch.add_argument("slugs", nargs="*", metavar="SLUG", help="assignments (default: all)")
    fetch.add_argument("--max-mb", type=int, default=None, metavar="MB",
                       help="largest download accepted per resource, in MB (default: 2048); a larger one keeps nothing")
    fetch.set_defaults(run=_fetch)

    handout = commands.add_parser("handout", help="the student handout: a zip of the student notebook and the "
                                                  "assignment's files")
    handout.add_argument("slugs", nargs="*", metavar="SLUG", help="assignments (default: all)")
    handout.add_argument("--out", type=Path, required=True, help="folder for <slug>.zip")
    handout.set_defaults(run=_handout)

    report = commands.add_parser("report", help="an HTML report for the course staff about a graded folder")
    report.add_argument("folder", type=Path, metavar="DIR", help="the --out folder of `autograder grade`")
    report.set_defaults(run=_report)

    review = commands.add_parser("review", help="grade the parts graded by hand: a review page in the browser, "
                                                "or scores imported/exported as CSV")
    review.add_argument("folder", type=Path, metavar="DIR", help="the --out folder of `autograder grade`")
    review.add_argument("--import", dest="import_csv", type=Path, metavar="CSV",
                        help="record the points of a CSV (submission,question,points,comment) and stop")
    review.add_argument("--export", dest="export_csv", type=Path, metavar="CSV",
                        help="write every hand-graded part with its points so far to a CSV and stop")
    review.add_argument("--grader", action="append", default=None, metavar="NAME",
                        help="who gives these points, kept with every change (default: your user name); "
                             "repeat it to print one URL per TA, each with a token of its own")
    review.add_argument("--host", default="127.0.0.1",
                        help="address the review page listens on (default 127.0.0.1: this machine only)")
    review.add_argument("--port", type=int, default=8765, help="port of the review page (default 8765; 0: any free one)")
    review.add_argument("--database", type=Path, default=None, metavar="PATH",
                        help="the review database (default: DIR/review.sqlite)")
    review.set_defaults(run=_review)

    merge_command = commands.add_parser("merge", help="join the --out folders of sharded grade runs into one")
    merge_command.add_argument("folders", nargs="+", type=Path, metavar="SHARD_DIR")
    merge_command.add_argument("--out", type=Path, required=True)
    merge_command.set_defaults(run=_merge)

    check = commands.add_parser("check", help="run the visible tests on your own notebook")
    check.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    check.add_argument("--assignment", metavar="SLUG", help="which assignment (default: read from the notebook)")
    check.set_defaults(run=_check)
    return parser


def _build(args) -> int:
    from .authoring.build import build_assignment

    root = args.root.resolve()
    slugs = resolve_slugs(root, args.slugs)
    outputs = []
    for slug in slugs:
        print(f"building {slug} ...", flush=True)
        outputs.append(build_assignment(root, slug))
    if args.check:
        from .authoring.freshness import stale_files  # reads tensors: torch, which a build without probes does not need

        stale = [path for output in outputs for path in stale_files(output.files)]
        for path in stale:
            print(f"stale: {path.relative_to(root)} does not match what its source builds; run 'make build' and commit",
                  file=sys.stderr)
        if not stale:
            print(f"up to date: {', '.join(slugs)}")
        return 1 if stale else 0
    # Every assignment is built before anything is written, so one failure leaves all files untouched.
    for output in outputs:
        write_atomically(output.files)
        for path in output.files:
            print(f"wrote {path.relative_to(root)}")
    return 0


def _grade(args) -> int:
    from tqdm import tqdm

    from .outputs.merge import in_shard, parse_shard

    root = args.root.resolve()
    slug = resolve_slugs(root, [args.slug])[0]
    shard = parse_shard(args.shard) if args.shard else None  # refused before torch is loaded anywhere
    server = _start_fork_server(root, slug)
    bar = None
    try:
        from .batch import default_jobs, expand, grade_batch
        from .scoring.grader import load_assignment
        from .scoring.points import GradeReport

        assignment = load_assignment(root, slug)
        paths = expand(args.submissions)
        if not paths:
            raise AutograderError(" ".join(map(str, args.submissions)), "no submission files found")
        note = ""
        if args.one:
            from .choice import choose_notebook
            from .i18n import language

            with language(assignment.config.language):
                chosen, note = choose_notebook(paths, slug, {cell.id for cell in assignment.release})
            paths = [chosen]
        total = sum(in_shard(index, shard) for index in range(len(paths)))
        bar = tqdm(total=total, unit="submission", file=sys.stderr) if sys.stderr.isatty() else None
        done = 0

        def show(report: GradeReport, reused: bool) -> None:
            nonlocal done
            done += 1
            line = f"{report.submission}: {report.score:g}/{report.max_score:g}"
            line += f" ({report.error})" if report.error else ""  # errors quote file names and contents too
            line = printable(line) + (" (graded before, kept)" if reused else "")
            if bar is not None:
                bar.set_postfix_str(line[:60])
                bar.update()
            else:
                print(f"[{done}/{total}] {line}", file=sys.stderr, flush=True)

        reports = grade_batch(assignment, paths, args.out, args.jobs or default_jobs(), Layout(root, slug).cache, show,
                              _announce_setup, _warn, shard, server, note)
    finally:
        server.close()  # already closed with the batch, unless something failed before it
        if bar is not None:
            bar.close()
    print(printable((args.out / "grades.csv").read_text(encoding="utf-8")), end="")
    print(f"graded {len(reports)} submission(s); results in {args.out}", file=sys.stderr)
    return 0


def _start_fork_server(root: Path, slug: str):
    """The workers' fork server for this assignment, started before this process imports torch:
    the two imports then run at once (about a second sooner to the first result)."""
    from .config import load_config
    from .engine.fork_client import ForkClient

    layout = Layout(root, slug)
    config = load_config(layout.config)
    server = ForkClient(str(layout.probes), str(layout.student), course_files(layout, config.resources), config.packages)
    server.start()
    return server


def _export(args) -> int:
    from .outputs.export import export_gradescope, export_otter
    from .scoring.grader import load_assignment

    root = args.root.resolve()
    slug = resolve_slugs(root, [args.slug])[0]
    assignment = load_assignment(root, slug)  # the assignment must be gradable before it is exported
    references = _reference_files(assignment)
    if args.platform == "otter":
        print(export_otter(root, slug, args.out, assignment.suite, assignment.config, references))
    else:
        print(export_gradescope(root, slug, args.out, assignment.config, references))
    return 0


def _reference_files(assignment) -> list[Path]:
    """The solution's values for both runs, computed here when the course has not kept them: an export
    carries them, so the platform grades each submission without running the solution again."""
    from .scoring.grader import Grader
    from .scoring.references import cache_file

    layout = assignment.layout
    runs = [None, assignment.lesson_data] if assignment.lesson_data else [None]
    files = [cache_file(layout.solution, assignment.suite, layout.cache, assignment.files, varied) for varied in runs]
    if not all(path.is_file() for path in files):
        Grader(assignment, layout.cache).close()  # runs the solution as grading does and keeps its values
    return files


def _fetch(args) -> int:
    from tqdm import tqdm

    from .authoring.resources import DEFAULT_MAX_MB, fetch_resources

    if args.max_mb is not None and args.max_mb < 1:
        raise AutograderError("--max-mb", f"{args.max_mb} is not a size; give a number of MB, 1 or more")
    root = args.root.resolve()
    bars = []

    def progress(resource, total):
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=resource.name, file=sys.stderr,
                   disable=not sys.stderr.isatty())
        bars.append(bar)
        return bar.update

    try:
        for slug in resolve_slugs(root, args.slugs):
            for line in fetch_resources(Layout(root, slug), progress, DEFAULT_MAX_MB if args.max_mb is None else args.max_mb):
                print(line)
    finally:
        for bar in bars:
            bar.close()
    return 0


def _handout(args) -> int:
    from .authoring.handout import handout_zip

    root = args.root.resolve()
    slugs = resolve_slugs(root, args.slugs)
    files = {args.out / f"{slug}.zip": handout_zip(root, slug) for slug in slugs}
    write_atomically(files)
    for path in files:
        print(path)
    return 0


def _report(args) -> int:
    from .outputs.staff_report import write_report  # matplotlib and nbconvert load only when a report is made

    print(write_report(args.folder))
    return 0


def _review(args) -> int:
    from .outputs.review_csv import export_scores, import_scores
    from .outputs.review_store import open_store

    if not (args.folder / "grades.csv").is_file():
        raise AutograderError(args.folder / "grades.csv", "missing; run `autograder grade ... --out` into this folder first")
    graders = args.grader or [_user_name()]
    store = open_store(args.folder, args.database)
    try:
        if args.import_csv:
            count = import_scores(args.folder, store, args.import_csv, graders[0])
            print(f"imported {count} score(s) from {args.import_csv} as {graders[0]}", file=sys.stderr)
        if args.export_csv:
            count = export_scores(args.folder, store, args.export_csv)
            print(f"exported {count} row(s) to {args.export_csv}", file=sys.stderr)
        if not (args.import_csv or args.export_csv):
            _serve_review(args, store, graders)
    finally:
        store.close()
    changed = args.import_csv or not args.export_csv  # an import, or the page was served
    if changed and (args.folder / "report.html").is_file():
        from .outputs.staff_report import write_report

        write_report(args.folder)  # the staff report shows the points given by hand too
    return 0


def _serve_review(args, store, graders: list[str]) -> None:
    """Serve the review page until Ctrl-C; each TA gets a URL with a token of their own."""
    import secrets
    import signal

    from werkzeug.serving import WSGIRequestHandler, make_server

    from .outputs.review_app import create_app

    class QuietHandler(WSGIRequestHandler):
        """Logs each request without its query string, where the TA's token travels."""

        def log_request(self, code="-", size="-"):
            self.log("info", '"%s %s" %s', self.command, self.path.split("?")[0], code)

    tokens = {secrets.token_urlsafe(24): name for name in dict.fromkeys(graders)}
    try:
        server = make_server(args.host, args.port, create_app(args.folder, store, tokens), threaded=True,
                             request_handler=QuietHandler)
    except OSError as exc:
        raise AutograderError("--port", f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                                        "choose another with --port") from None
    shown = f"[{args.host}]" if ":" in args.host else args.host
    for token, name in tokens.items():
        print(f"review page for {name}: http://{shown}:{server.port}/?token={token}", flush=True)
    print("press Ctrl-C to stop", file=sys.stderr, flush=True)
    # `kill`, `docker stop` and systemd stop a server with SIGTERM: it ends as Ctrl-C does, with exit 0.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _user_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "TA"


def _merge(args) -> int:
    from .outputs.merge import merge

    rows = merge(args.folders, args.out)
    print(printable((args.out / "grades.csv").read_text(encoding="utf-8")), end="")
    print(f"merged {rows} row(s) from {len(args.folders)} folder(s) into {args.out}", file=sys.stderr)
    return 0


def _announce_setup(setup) -> None:
    """Say which isolation student code runs under; loudly when a layer or a speed-up is missing."""
    print(f"isolation: {'; '.join(setup.layers) or 'none'}", file=sys.stderr)
    for layer in setup.missing:
        _warn(f"isolation NOT in effect: {layer}")
    if setup.missing:
        _warn(_isolation_advice())
    for warning in setup.warnings:
        _warn(warning)


def _isolation_advice() -> str:
    if os.geteuid() == 0:  # root without the capabilities: a container with Docker's defaults, say
        return ("the grader runs as root without some capabilities (CAP_SYS_ADMIN for namespaces and mounts, "
                "CAP_SETUID for a user per worker): allow them (docker run --cap-add SYS_ADMIN) or user namespaces "
                "for full isolation")
    return "run the grader as root (sudo; or where user namespaces are allowed) for full isolation"


def printable(text: str) -> str:
    """Text for the terminal with control characters shown as escapes: a file name is the student's,
    and escape sequences in it must not move the cursor or rewrite what the TA reads."""
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text)


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _check(args) -> int:
    root = args.root.resolve()
    slug = args.assignment or _assignment_of(args.notebook, root)
    checks_file = args.notebook.parent / f"{slug}_checks.json"
    if not Layout(root, slug).solution.is_file() and checks_file.is_file():
        from .self_check import check_offline

        lines, passed = check_offline(args.notebook, checks_file)
    else:
        slug = resolve_slugs(root, [slug])[0]
        server = _start_fork_server(root, slug)
        try:
            from .self_check import check_with_course

            lines, passed = check_with_course(root, slug, args.notebook, Layout(root, slug).cache, server)
        finally:
            server.close()
    print("\n".join(lines))
    return 0 if passed else 1


def _assignment_of(notebook: Path, root: Path) -> str:
    """The assignment a student notebook belongs to: its metadata, else its file name."""
    from .notebooks import read_notebook  # nbformat takes a sixth of a second to import

    metadata = read_notebook(notebook).metadata.get("autograder", {})
    if isinstance(metadata, dict) and isinstance(metadata.get("assignment"), str):
        return metadata["assignment"]
    if Layout(root, notebook.stem).folder.is_dir():
        return notebook.stem
    raise AutograderError(notebook, "cannot tell which assignment this is; pass --assignment SLUG")
