"""The submissions of a graded folder as it is now, for the review page: a batch graded again (new
files, a file that can now be read) while the page runs shows at the next request, without a restart."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from .hand_grades import RECORD


@dataclass(frozen=True)
class Submission:
    stem: str
    name: str


@dataclass(frozen=True)
class Listing:
    """Gradable submissions in the folder's order, and how many files could not be read."""

    submissions: list[Submission]
    unreadable: int

    def find(self, stem: str) -> Submission | None:
        return next((s for s in self.submissions if s.stem == stem), None)


class FolderListing:
    """Reads each record.json again only when it changed (its size, time or inode), so a request costs a
    stat per submission."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()
        # Per result folder: the record's stamp, and its submission's name (None when it could not be graded).
        self._seen: dict[str, tuple[tuple[int, int, int], str | None]] = {}

    def current(self) -> Listing:
        names: dict[str, str | None] = {}
        with self._lock:
            for path in sorted(self.folder.glob(f"*/{RECORD}")):
                stem = path.parent.name
                try:
                    status = path.stat()
                    stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
                    seen = self._seen.get(stem)
                    if seen is None or seen[0] != stamp:
                        record = json.loads(path.read_text(encoding="utf-8"))
                        record = record if isinstance(record, dict) else {}
                        seen = (stamp, None if record.get("error") else str(record.get("submission", stem)))
                        self._seen[stem] = seen
                except (OSError, ValueError):
                    continue  # a folder being written: not graded as far as this page knows yet
                names[stem] = seen[1]
        submissions = [Submission(stem, name) for stem, name in names.items() if name is not None]
        return Listing(submissions, len(names) - len(submissions))
