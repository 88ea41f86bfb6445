"""The one exception hierarchy of tcpwatch; each error carries its evidence."""

from __future__ import annotations


class TcpwatchError(Exception):
    """Base class: an error the user can act on (the CLI prints it on one line)."""


class CaptureError(TcpwatchError):
    """The capture cannot be read at all: not a capture, unsupported link type, I/O."""


class DecodeError(CaptureError):
    """A record of the capture is corrupt: where and why."""

    def __init__(self, reason: str, *, frame: int | None = None, offset: int | None = None):
        self.reason = reason
        self.frame = frame
        self.offset = offset
        where = []
        if frame is not None:
            where.append(f"frame {frame}")
        if offset is not None:
            where.append(f"byte offset {offset}")
        super().__init__(f"{reason} ({', '.join(where)})" if where else reason)
