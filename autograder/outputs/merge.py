"""Join the output folders of sharded `autograder grade --shard K/N` runs into one gradebook."""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from ..errors import AutograderError
from ..files import write_atomically


def merge(folders: list[Path], out: Path) -> int:
    """Copy every shard's result folders into `out` and write one grades.csv; return the row count."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        book = folder / "grades.csv"
        if not book.is_file():
            raise AutograderError(book, "missing; is this the --out folder of an `autograder grade` run that finished?")
        with book.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            this_header = next(reader, None)
            if header is None:
                header = this_header
            elif this_header != header:
                raise AutograderError(book, "its columns differ from the first shard's; "
                                            "were they graded for the same assignment?")
            rows += list(reader)
        for result in sorted(p for p in folder.iterdir() if p.is_dir()):
            if result.name in seen:
                raise AutograderError(result, f"also in {seen[result.name]}; shards must not overlap")
            seen[result.name] = folder
    out.mkdir(parents=True, exist_ok=True)
    for name, folder in seen.items():
        if (folder / name).resolve() != (out / name).resolve():
            shutil.copytree(folder / name, out / name, dirs_exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header or [])
    writer.writerows(sorted(rows))
    write_atomically({out / "grades.csv": buffer.getvalue().encode("utf-8")})
    return len(rows)
