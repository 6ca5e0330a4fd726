"""The fork server: imports torch and the worker once, then forks one fresh worker per request.

It is started as its own Python process (never forked from the grader), so it holds nothing of
the grader's: no reference values, no hidden tests. Requests come over a Unix socket and carry
two pipe ends: one the worker reads its job from, one it writes its reports to.
"""
from __future__ import annotations

import gc
import json
import os
import signal
import socket
import struct
import sys

PID = struct.Struct("!i")


def serve(sock: socket.socket) -> None:
    from . import worker  # noqa: F401  (preloaded: every fork starts warm)

    # Move everything imported so far out of the collector's reach: a forked worker then does not
    # copy those memory pages just because a collection touched them.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 64, 2)
        except (ConnectionError, OSError):
            return
        if not message:
            return
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        job_fd, report_fd = fds
        pid = os.fork()
        if pid == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _child(job_fd, report_fd)
        os.close(job_fd)
        os.close(report_fd)
        sock.sendall(PID.pack(pid))


def _child(job_fd: int, report_fd: int) -> None:
    from .jobs import decode_job
    from .worker import main

    try:
        with os.fdopen(job_fd, "rb") as source:
            job = decode_job(json.loads(source.read()))
    except BaseException:
        os._exit(3)
    main(job, report_fd)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
