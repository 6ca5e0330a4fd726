"""Command line: argument parsing and presentation only; the work is done by the pipeline modules."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .build import build_assignment, resolve_slugs, stale_files, write_atomically
from .errors import AutograderError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except AutograderError as error:
        print(f"error: {_relative(error, args.root.resolve())}", file=sys.stderr)
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
    return parser


def _build(args) -> int:
    root = args.root.resolve()
    slugs = resolve_slugs(root, args.slugs)
    outputs = []
    for slug in slugs:
        print(f"building {slug} ...", flush=True)
        outputs.append(build_assignment(root, slug))
    if args.check:
        stale = [path for output in outputs for path in stale_files(output)]
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
