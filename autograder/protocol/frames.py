"""Length-prefixed JSON frames over a pipe: how a worker reports to the grader (its position aside, progress.py)."""
from __future__ import annotations

import json
import os
import select
import struct
import time

_HEADER = struct.Struct("!I")


class ChannelError(Exception):
    """The other side closed the channel or sent something that is not a frame."""


def frame(data: bytes) -> bytes:
    return _HEADER.pack(len(data)) + data


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class FrameReader:
    """Reads frames from a pipe with a deadline, never trusting the sender's lengths."""

    def __init__(self, fd: int, max_frame: int, max_total: int | None = None):
        self.fd, self.max_frame, self.buffer = fd, max_frame, bytearray()
        self.max_total, self.received = max_total, 0

    def read(self, timeout: float) -> dict | None:
        """The next frame as a dict; None when the deadline passes first; ChannelError at EOF or garbage."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._take()
            if frame is not None:
                try:
                    message = json.loads(frame)
                except (ValueError, RecursionError):
                    raise ChannelError("a frame that is not JSON (or nested too deeply)") from None
                if not isinstance(message, dict):
                    raise ChannelError("a frame that is not a JSON object")
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise ChannelError("end of channel")
            self.received += len(chunk)
            if self.max_total is not None and self.received > self.max_total:
                raise ChannelError(f"more than {self.max_total >> 20} MB of reports")
            self.buffer += chunk

    def _take(self) -> bytes | None:
        if len(self.buffer) < _HEADER.size:
            return None
        (length,) = _HEADER.unpack_from(self.buffer)
        if length > self.max_frame:
            raise ChannelError(f"a frame of {length} bytes, more than the {self.max_frame} allowed")
        if len(self.buffer) < _HEADER.size + length:
            return None
        frame = bytes(self.buffer[_HEADER.size:_HEADER.size + length])
        del self.buffer[:_HEADER.size + length]
        return frame
