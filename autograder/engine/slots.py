"""What the grader prepares for workers: cgroups and a scratch folder per concurrent worker, reused.

The worker joins its slot's cgroups through files the grader opened (it may not see /sys), and
runs in a scratch folder of its own where the fork server cannot give it a private one.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from ..protocol.jobs import PROCESS_LIMIT

CGROUP = Path("/sys/fs/cgroup")
_SCRATCH_PREFIX = "autograder-scratch-"


class WorkerSlot:
    """Memory, process and CPU cgroups and a scratch folder for one worker at a time, made once and reused.

    Making cgroups is slow (about 12 ms), and making and deleting a folder per submission costs the
    file system more than it seems (ext4 searches past recently deleted inodes), so the grader keeps
    one slot per concurrent worker. A slot is only handed on once every process of the previous
    worker is gone, with its scratch folder emptied.
    """

    def __init__(self, name: str, memory_mb: int):
        self.paths = [CGROUP / controller / "autograder" / name for controller in ("memory", "pids", "cpu")]
        settings = {
            # Above the worker's address-space cap, so an allocation fails with MemoryError before
            # the kernel has to step in; the cgroup still bounds every process a notebook starts.
            "memory": {"memory.limit_in_bytes": str((memory_mb * 2 + 1024) << 20)},
            "pids": {"pids.max": str(PROCESS_LIMIT)},
            "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "100000"},  # one core at most
        }
        for path in self.paths:
            path.mkdir(parents=True, exist_ok=True)
            for key, value in settings[path.parent.parent.name].items():
                (path / key).write_text(value)
        # Kept open for the life of the slot: a worker joins by writing to these, from any root.
        self.join_fds = tuple(os.open(path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for path in self.paths)
        self.scratch = _new_scratch()

    def processes(self) -> list[int]:
        return [int(pid) for path in self.paths for pid in (path / "cgroup.procs").read_text().split()]

    def empty(self) -> None:
        """Kill whatever is left of the previous worker and wait until the slot holds no process."""
        for _ in range(500):
            pids = self.processes()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.002)
        raise OSError(f"processes of an earlier worker would not die: {pids}")

    def clear_scratch(self) -> None:
        """Leave nothing of the previous worker for the next: an empty folder only root can enter."""
        try:
            with os.scandir(self.scratch) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
            os.chown(self.scratch, 0, 0)
            os.chmod(self.scratch, 0o700)
        except OSError:  # something the worker left cannot be removed: start over elsewhere
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = _new_scratch()

    def peak_memory(self) -> int | None:
        """The most memory used in this slot since the last reset."""
        try:
            return int((self.paths[0] / "memory.max_usage_in_bytes").read_text())
        except (OSError, ValueError):
            return None

    def reset_peak(self) -> None:
        (self.paths[0] / "memory.max_usage_in_bytes").write_text("0")

    def remove(self) -> None:
        for fd in self.join_fds:
            os.close(fd)
        self.join_fds = ()
        for path in self.paths:
            try:
                path.rmdir()
            except OSError:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)


def _new_scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-"))


def remove_stale_slots() -> None:
    """Remove the empty slots and scratch folders of graders that were killed before they could clean up."""
    for path in CGROUP.glob("*/autograder/g*-*"):
        owner = path.name[1:].split("-")[0]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            try:
                path.rmdir()
            except OSError:
                pass
    for path in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        owner = path.name.removeprefix(_SCRATCH_PREFIX).split("-")[0]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            shutil.rmtree(path, ignore_errors=True)
