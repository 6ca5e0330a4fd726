"""Join the output folders of sharded `autograder grade --shard K/N` runs into one gradebook."""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from .errors import AutograderError
from .files import write_atomically


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise AutograderError("--shard", f"'{text}' is not K/N (for example 2/4)") from None
    if not 1 <= k <= n:
        raise AutograderError("--shard", f"'{text}': K must be between 1 and N")
    return k, n


def in_shard(index: int, shard: tuple[int, int] | None) -> bool:
    """Submission `index` (in the batch's order) belongs to shard K of N when index % N == K - 1."""
    return shard is None or index % shard[1] == shard[0] - 1


def merge(folders: list[Path], out: Path) -> int:
    """Copy every shard's result folders into `out` and write one grades.csv; return the row count."""
    header, rows, seen = None, [], {}
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
                raise AutograderError(book, "its columns differ from the first shard's; were they graded for the same assignment?")
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
    writer.writerow(header)
    writer.writerows(sorted(rows))
    write_atomically({out / "grades.csv": buffer.getvalue().encode("utf-8")})
    return len(rows)
