"""Join the output folders of sharded `autograder grade --shard K/N` runs into one gradebook."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from ..errors import AutograderError
from ..files import make_folders, output_owner, write_atomically
from .hand_grades import QUESTIONS

SHARD = "shard.json"  # written by `grade` beside grades.csv: {"shard": K, "of": N, "fingerprint", "submissions"}


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
    """Copy every shard's result folders into `out` and write one grades.csv; return the row count.

    Refused unless the folders are exactly shards 1..N of one batch graded with the same tests: a
    missing shard would silently drop its students from the gradebook, a repeated one count them twice.
    """
    _check_shards(folders)
    header: list[str] | None = None
    rows: list[list[str]] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        book = folder / "grades.csv"
        with book.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            this_header = next(reader, None)
            if header is None:
                header = this_header
            elif this_header != header:
                raise AutograderError(book, "its columns differ from the first shard's; "
                                            "were they graded for the same assignment?")
            rows += list(reader)
        for result in sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()):
            if result.name in seen:
                raise AutograderError(result, f"also in {seen[result.name]}; shards must not overlap")
            seen[result.name] = folder
    make_folders(out, output_owner())
    for name, folder in seen.items():
        if (folder / name).resolve() != (out / name).resolve():
            shutil.copytree(folder / name, out / name, dirs_exist_ok=True, symlinks=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header or [])
    writer.writerows(sorted(rows))
    merged = {out / "grades.csv": buffer.getvalue().encode("utf-8")}
    questions = folders[0] / QUESTIONS  # the same assignment in every shard (checked above)
    if questions.is_file() and questions.resolve() != (out / QUESTIONS).resolve():
        merged[out / QUESTIONS] = questions.read_bytes()  # the review page and the staff report read it
    write_atomically(merged)
    return len(rows)


def _check_shards(folders: list[Path]) -> None:
    """Every folder is one finished shard, each of 1..N exactly once, all of the same batch and tests."""
    found: dict[int, Path] = {}
    first: dict | None = None
    for folder in folders:
        book = folder / "grades.csv"
        if not book.is_file():
            raise AutograderError(book, "missing; is this the --out folder of an `autograder grade` run that finished?")
        info = _shard_info(folder / SHARD)
        if first is None:
            first = info
        elif (info["of"], info["fingerprint"], info["submissions"]) != \
                (first["of"], first["fingerprint"], first["submissions"]):
            raise AutograderError(folder / SHARD, f"not a shard of the same batch as {folders[0]} (other N, tests "
                                                  "or submissions); merge the shards of one `grade --shard K/N` run")
        if info["shard"] in found:
            raise AutograderError(folder, f"shard {info['shard']}/{info['of']} is given twice "
                                          f"(also {found[info['shard']]})")
        found[info["shard"]] = folder
    if first is not None:
        missing = [str(k) for k in range(1, first["of"] + 1) if k not in found]
        if missing:
            raise AutograderError(folders[0], f"shard(s) {', '.join(missing)} of {first['of']} are missing; "
                                              "their students would have no row. Give every shard's folder")


def _shard_info(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        k, n = int(info["shard"]), int(info["of"])
        if not 1 <= k <= n:
            raise ValueError
        return {"shard": k, "of": n, "fingerprint": str(info["fingerprint"]), "submissions": int(info["submissions"])}
    except FileNotFoundError:
        raise AutograderError(path, "missing; grade the shards again with this version of "
                                    "`autograder grade --shard K/N`") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise AutograderError(path, "unreadable; grade this shard again") from None
