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
        self._seen: dict[str, tuple[tuple[int, int, int], dict]] = {}

    def current(self) -> Listing:
        records = {}
        with self._lock:
            for path in sorted(self.folder.glob(f"*/{RECORD}")):
                try:
                    status = path.stat()
                    stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
                    seen = self._seen.get(path.parent.name)
                    if seen is None or seen[0] != stamp:
                        record = json.loads(path.read_text(encoding="utf-8"))
                        seen = (stamp, record if isinstance(record, dict) else {})
                        self._seen[path.parent.name] = seen
                except (OSError, ValueError):
                    continue  # a folder being written: not graded as far as this page knows yet
                records[path.parent.name] = seen[1]
        submissions = [Submission(stem, str(record.get("submission", stem)))
                       for stem, record in records.items() if not record.get("error")]
        return Listing(submissions, len(records) - len(submissions))
