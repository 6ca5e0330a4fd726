"""The grader's handle on the workers' fork server (autograder.sandboxed.fork_server): it starts the
server as a separate Python process, asks it for one worker per submission, restarts it if a
worker killed it."""
from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from ..errors import GraderError
from ..protocol.messages import PID
from .course_files import remove_staged, stage_files

FORK_SERVER_MODULE = "autograder.sandboxed.fork_server"
_START_SECONDS = 60.0
_PIPE_BYTES = 1 << 20  # Linux lets any user grow a pipe to 1 MB
# The fork server's whole environment. Workers are forks of it, so whatever it was started with stays
# in their memory (the process stack keeps the original strings after os.environ is cleared): it
# gets a fixed PATH and locale, and the module search path, never the grader's variables (CI tokens).
_SERVER_PATH = "/usr/local/bin:/usr/bin:/bin"


class ForkClient:
    """Starts the fork server on first use and asks it for workers; safe to share between threads."""

    def __init__(self, probes_path: str | None = None, release: str | None = None, course_files: Mapping[str, Path] | None = None,
                 preload: tuple[str, ...] = ()):
        """`course_files`: the assignment's files, staged here (read-only) for every worker to see; `preload`:
        modules the server imports once (the assignment's `packages`), so workers start with them."""
        staged = stage_files(course_files or {})
        self.files = str(staged) if staged is not None else None
        # Loaded once by the fork server, not by every worker.
        self._preload = [*(["--probes", probes_path] if probes_path else []), *(["--release", release] if release else []),
                         *(["--files", self.files] if self.files else []),
                         *[arg for name in preload for arg in ("--preload", name)]]
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._log = tempfile.TemporaryFile()

    def spawn(self, job_fd: int, cgroup_fds: tuple[int, ...] = ()) -> tuple[int, int]:
        """Fork a worker reading its job from `job_fd` (progress.job_file), joining the cgroups whose
        cgroup.procs files are given; return its pid and the read end of its report pipe."""
        report_read, report_write = os.pipe()
        try:
            with contextlib.suppress(OSError):  # room for a whole notebook's reports, sent at once
                fcntl.fcntl(report_write, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
            with self._lock:
                pid = self._request([job_fd, report_write, *cgroup_fds])
        except BaseException:
            os.close(report_read)
            raise
        finally:
            os.close(report_write)
        return pid, report_read

    def start(self) -> None:
        """Start the fork server process now, without waiting for it: it imports torch meanwhile."""
        with self._lock:
            if self._process is None:
                self._start()

    def _request(self, fds: list[int]) -> int:
        for _ in range(2):
            if self._process is None or self._process.poll() is not None:
                self._start()
            try:
                assert self._socket is not None  # made by _start
                socket.send_fds(self._socket, [b"j"], fds)
                reply = self._socket.recv(PID.size)
                if len(reply) == PID.size:
                    return PID.unpack(reply)[0]
            except OSError:
                pass
            self._stop()
        self._log.seek(0)
        detail = self._log.read()[-2000:].decode("utf-8", "replace").strip()
        raise GraderError(f"could not start a worker process{': ' + detail if detail else ''}")

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-m", FORK_SERVER_MODULE, str(theirs.fileno()), *self._preload],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            start_new_session=True,  # Ctrl-C in the grader's terminal stops the grader, which stops this
            env=server_environment(),
        )
        theirs.close()
        ours.settimeout(_START_SECONDS)
        self._socket = ours

    def _stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        with self._lock:
            self._stop()
            remove_staged(Path(self.files) if self.files else None)
            self.files = None


def server_environment() -> dict[str, str]:
    """What the fork server (and so every worker) is started with: nothing secret of the grader's."""
    env = {"PATH": _SERVER_PATH, "LANG": "C.UTF-8"}
    # Where this package or a course's helpers are found: folders that exist, nothing else of the variable.
    folders = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path and os.path.isdir(path)]
    if folders:
        env["PYTHONPATH"] = os.pathsep.join(folders)
    return env
