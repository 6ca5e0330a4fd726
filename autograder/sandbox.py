"""The isolation a worker process puts itself in before any student code runs."""
from __future__ import annotations

import os
import resource

from .jobs import WorkerJob

# Headroom above the address space the worker already maps (torch alone maps several GB of
# virtual memory without using it), so the cap limits what the student allocates.
_FILE_LIMIT = 64 << 20


def enter_sandbox(job: WorkerJob) -> None:
    """Detach from the grader's terminal and files, cap resources, and work in the scratch folder."""
    os.setsid()  # own process group: the grader kills the worker and everything it started at once
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir(job.scratch)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, _FILE_LIMIT)
    _limit(resource.RLIMIT_AS, _mapped_bytes() + job.limits.memory_mb * (1 << 20))


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard if hard != resource.RLIM_INFINITY else value))


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
