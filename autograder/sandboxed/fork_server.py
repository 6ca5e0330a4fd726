"""The fork server: imports torch and the worker once, then forks one fresh worker per request.

It is started as its own Python process (never forked from the grader), so it holds nothing of
the grader's: no reference values, no hidden tests. Requests come over a Unix socket and carry
the worker's job file (its progress page, then the job; progress.py), the pipe it writes its
reports to, and the cgroup files it joins.

A fork is the one cost every submission pays, so the server makes it cheap: its memory is backed
by huge pages where the kernel allows (a fork then copies one page-table entry per 2 MB instead of
512), and as root each worker is forked straight into a PID namespace of its own, with no helper
process in between.
"""
from __future__ import annotations

import gc
import importlib
import itertools
import json
import os
import signal
import socket
import sys

from ..i18n import LANGUAGES, translations
from ..libc import libc
from ..protocol.messages import PID
from .isolation import CLONE_NEWPID, Inherited, prepare_shared_root

_MAX_CGROUPS = 3
_MADV_HUGEPAGE, _MADV_COLLAPSE = 14, 25
_HUGE = 2 << 20


def serve(sock: socket.socket, probes_path: str | None = None, release_path: str | None = None,
          files: str | None = None, preload: tuple[str, ...] = ()) -> None:
    from . import worker  # preloaded: every fork starts warm

    warnings = _install_speedups() + _preload(preload) + _read_metadata(("torch", *preload))
    for code in LANGUAGES:
        translations(code)  # read once here, not by every worker
    worker.preload_probes(probes_path)
    if release_path:
        worker.precompile(_release_cells(release_path))
    # Move everything imported so far out of the collector's reach: a forked worker then does not
    # copy those memory pages just because a collection touched them.
    gc.collect()
    gc.freeze()
    collapse_to_huge_pages()
    own_pid_namespace = _own_pid_namespace()  # opened while /proc is still in view
    shared_root = prepare_shared_root(files) is None
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    for number in itertools.count(1):
        try:
            message, fds, _, _ = socket.recv_fds(sock, 64, 2 + _MAX_CGROUPS)
        except (ConnectionError, OSError):
            return
        if not message:
            return
        if len(fds) < 2:
            for fd in fds:
                os.close(fd)
            continue
        pid, in_pid_namespace = _fork_worker(own_pid_namespace)
        if pid == 0:
            sock.close()
            if own_pid_namespace is not None:
                os.close(own_pid_namespace)  # a handle on the grader's namespace: not for a notebook
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _child(fds[0], fds[1], Inherited(number, in_pid_namespace, shared_root, tuple(fds[2:]), warnings))
        for fd in fds:
            os.close(fd)
        sock.sendall(PID.pack(pid))


def _install_speedups() -> tuple[str, ...]:
    """Cut torch's own costs in workers where that is safe; every failure leaves torch's own code in
    place and becomes a warning the grader prints once per batch."""
    from . import device_seeding, tensor_format
    from .warmup import warm_up

    warnings = []
    reason = tensor_format.install()
    if reason:
        warnings.append(f"tensor printing in workers uses torch's own code ({reason})")
    for name, step in (("seeding", device_seeding.install), ("the warm-up", warm_up)):
        try:
            step()
        except Exception as exc:
            warnings.append(f"{name} of workers was skipped ({type(exc).__name__}: {exc}); grading is unchanged")
    return tuple(w[:300] for w in warnings)


def _preload(modules: tuple[str, ...]) -> tuple[str, ...]:
    """Import the assignment's packages once, so that no worker pays for them; one that fails to
    import is left for the notebook to import (and fail on) itself."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # what workers use; pyplot settles its backend on import
    warnings = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            warnings.append(f"the fork server could not preload {name} ({type(exc).__name__}: {exc})"[:300])
    return tuple(warnings)


def _read_metadata(modules: tuple[str, ...]) -> tuple[str, ...]:
    """Parse the metadata of torch and the preloaded packages once here (package_metadata.py)."""
    from . import package_metadata

    try:
        package_metadata.install(dict.fromkeys(name.split(".")[0] for name in modules))
    except Exception as exc:
        return (f"package metadata in workers is read by importlib itself ({type(exc).__name__}: {exc})"[:300],)
    return ()


def _release_cells(path: str) -> list:
    from pathlib import Path

    from ..notebooks import read_notebook
    from ..protocol.jobs import as_released

    return as_released(read_notebook(Path(path)))


def _own_pid_namespace() -> int | None:
    """A handle on this process's PID namespace, where it may make new ones (root); else None."""
    try:
        return os.open("/proc/self/ns/pid", os.O_RDONLY)
    except OSError:
        return None


def _fork_worker(own_pid_namespace: int | None) -> tuple[int, bool]:
    """Fork; as root the child is PID 1 of a new PID namespace (True), else the worker makes one itself.

    unshare(CLONE_NEWPID) only sets where this process's next child goes; setns back to our own
    namespace right after the fork allows a new one for the next worker.
    """
    fresh = own_pid_namespace is not None and libc.unshare(CLONE_NEWPID) == 0
    try:
        pid = os.fork()
    except BaseException:
        pid = -1
        raise
    finally:
        if fresh and pid != 0 and libc.setns(own_pid_namespace, CLONE_NEWPID) != 0:
            os._exit(4)  # never fork a second worker into the first one's namespace
    return pid, fresh


def collapse_to_huge_pages() -> int:
    """Back this process's private writable memory by 2 MB pages where the kernel can; returns bytes done.

    Torch's import leaves ~150 MB of heap; forking and exiting a copy of it page by page costs
    about 6.5 ms, with huge pages about 2.8 ms. A worker that writes to a shared huge page gets a
    private copy of the 4 KB it touched, as before. Kernels without MADV_COLLAPSE (before 6.1)
    just keep small pages.
    """
    done = 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        if fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]"):
            continue  # anonymous or heap only: file mappings are not copied by fork anyway
        start, end = (int(value, 16) for value in fields[0].split("-"))
        start, end = -(-start // _HUGE) * _HUGE, end // _HUGE * _HUGE
        if end <= start:
            continue
        libc.madvise(start, end - start, _MADV_HUGEPAGE)
        if libc.madvise(start, end - start, _MADV_COLLAPSE) == 0:
            done += end - start
    return done


def _child(job_fd: int, report_fd: int, inherited: Inherited) -> None:
    from ..protocol.jobs import decode_job
    from ..protocol.progress import ProgressWriter
    from .worker import main

    try:
        progress = ProgressWriter(job_fd)  # the job file's first page; the job follows it
        with os.fdopen(job_fd, "rb") as source:
            job = decode_job(json.loads(source.read()))
    except BaseException:
        os._exit(3)
    main(job, report_fd, progress, inherited)


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.sandboxed.fork_server")
    parser.add_argument("socket", type=int, help="file descriptor of the grader's socket")
    parser.add_argument("--probes", help="the assignment's probes.py, loaded once here")
    parser.add_argument("--release", help="the student notebook, whose cells are compiled once here")
    parser.add_argument("--files", help="the assignment's files (a staged read-only folder), visible to workers")
    parser.add_argument("--preload", action="append", default=[], help="a module to import once here (repeatable)")
    args = parser.parse_args(argv)
    serve(socket.socket(fileno=args.socket), args.probes, args.release, args.files, tuple(args.preload))


if __name__ == "__main__":
    main(sys.argv[1:])
