"""Where a worker is (which cell, or the probes after it, and since when), shared in memory.

The grader must know which cell is running to enforce each cell's time limit from outside and to
skip a cell that killed the worker. Telling it with a message per cell woke the grader dozens of
times per submission; instead the worker writes its position into the first page of its job
file, a memory file both processes map, and sends its reports once at the end. The grader reads
the page only while no report comes (every quarter second) and when the worker ends.

The page belongs to one submission's worker, so what a hostile notebook writes there can only
mislead the grading of that notebook, within its overall time limit; the reader checks the
values it gets.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import struct
import time
from dataclasses import dataclass

from ..libc import MAP_FAILED, libc
from .frames import write_all

PAGE = mmap.PAGESIZE  # the job's JSON starts after this page
CELL, PROBES = 1, 2  # running a cell; running the probes after a cell
_SEQUENCE = struct.Struct("<Q")
_FIELDS = struct.Struct("<qqd")  # index, stage, started (time.monotonic(), the same clock in both)
_TRIES = 100


@dataclass(frozen=True)
class Position:
    index: int  # the cell's index in the job; the number of cells for the probes at the very end
    stage: int  # CELL or PROBES
    started: float  # time.monotonic() when this stage began


class ProgressWriter:
    """The worker's side: marks each stage before it begins."""

    def __init__(self, job_fd: int):
        # Mapped through libc: Python's mmap would keep a copy of the file descriptor open, one
        # more handle the notebook could find, where the worker should hold only its report pipe.
        address = libc.mmap(None, PAGE, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, job_fd, 0)
        if address in (None, MAP_FAILED):
            raise OSError(ctypes.get_errno(), "cannot map the progress page")
        self._address = address
        self._page = (ctypes.c_char * PAGE).from_address(address)
        self._sequence = 0

    def mark(self, index: int, stage: int) -> None:
        # A sequence number, odd while the fields change, lets the reader tell a half-written page.
        self._sequence += 1
        _SEQUENCE.pack_into(self._page, 0, self._sequence)
        _FIELDS.pack_into(self._page, _SEQUENCE.size, index, stage, time.monotonic())
        self._sequence += 1
        _SEQUENCE.pack_into(self._page, 0, self._sequence)

    def close(self) -> None:
        """Unmap the page (a fork server must not pass a shared page on to every worker)."""
        del self._page
        libc.munmap(ctypes.c_void_p(self._address), PAGE)


class ProgressReader:
    """The grader's side: the worker's last position, or None before its first cell."""

    def __init__(self, job_fd: int, cells: int):
        self._page = mmap.mmap(job_fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ)
        self.cells = cells  # indexes run from 0 to it (the probes at the end)

    def position(self) -> Position | None:
        for _ in range(_TRIES):
            (before,) = _SEQUENCE.unpack_from(self._page, 0)
            index, stage, started = _FIELDS.unpack_from(self._page, _SEQUENCE.size)
            (after,) = _SEQUENCE.unpack_from(self._page, 0)
            if before == after and before % 2 == 0:
                break
        else:
            return None  # never settled: a notebook writing to the page, not the worker
        if before == 0 or stage not in (CELL, PROBES) or not 0 <= index <= self.cells or started != started:
            return None
        return Position(index, stage, min(started, time.monotonic()))

    def close(self) -> None:
        self._page.close()


def job_file(job: bytes) -> int:
    """A memory file holding a blank progress page, then `job`, read from just after the page."""
    fd = os.memfd_create("autograder-job", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, PAGE)
        os.lseek(fd, PAGE, os.SEEK_SET)
        write_all(fd, job)
        os.lseek(fd, PAGE, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd
