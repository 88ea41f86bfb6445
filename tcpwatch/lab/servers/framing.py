"""Message framing over a byte stream, without I/O (the "sticky packets" problem).

TCP delivers bytes, not messages: one ``recv`` may hold several messages, or a piece of
one.  A framer is fed whatever arrived and returns the complete messages, keeping the
rest.  Three classic ways to find the boundaries:

* ``length``: a 4-byte big-endian length header, then the payload (the default);
* ``line``: messages end with a delimiter (``\\n``), which must not occur inside them;
* ``fixed``: every message has the same size.

A frame over ``max_size`` raises :class:`FrameTooLarge` as soon as that is known, so a
peer cannot make the framer buffer without bound.
"""

from __future__ import annotations

import struct
from typing import ClassVar, Protocol

from ...errors import TcpwatchError

DEFAULT_MAX = 1 << 20


class FrameTooLarge(TcpwatchError):
    """A frame is larger than the framer's ``max_size``."""


class Framer(Protocol):
    name: ClassVar[str]

    def feed(self, data: bytes) -> list[bytes]: ...

    def encode(self, message: bytes) -> bytes: ...

    @property
    def buffered(self) -> int: ...


class _Buffer:
    """What every framer has: the bytes received but not yet a whole message, and the
    largest message it accepts."""

    def __init__(self, max_size: int = DEFAULT_MAX):
        self.max_size = max_size
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _check_size(self, message: bytes) -> None:
        if len(message) > self.max_size:
            raise FrameTooLarge(f"message of {len(message)} bytes > max {self.max_size}")


class LengthPrefixFramer(_Buffer):
    """``[4-byte big-endian length][payload]``."""

    name = "length"
    HEADER = struct.Struct("!I")

    def encode(self, message: bytes) -> bytes:
        self._check_size(message)
        return self.HEADER.pack(len(message)) + message

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out, pos, h = [], 0, self.HEADER.size
        while len(self._buf) - pos >= h:
            (size,) = self.HEADER.unpack_from(self._buf, pos)
            if size > self.max_size:
                raise FrameTooLarge(f"length header announces {size} bytes > max "
                                    f"{self.max_size}")
            if len(self._buf) - pos - h < size:
                break
            out.append(bytes(self._buf[pos + h:pos + h + size]))
            pos += h + size
        del self._buf[:pos]
        return out


class DelimitedFramer(_Buffer):
    """``payload + delimiter``; the payload may not contain the delimiter."""

    name = "line"

    def __init__(self, max_size: int = DEFAULT_MAX, delimiter: bytes = b"\n"):
        super().__init__(max_size)
        self.delimiter = delimiter
        self._searched = 0  # bytes already known to hold no delimiter

    def encode(self, message: bytes) -> bytes:
        if self.delimiter in message:
            raise ValueError("message contains the delimiter")
        self._check_size(message)
        return message + self.delimiter

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out, d = [], self.delimiter
        while True:
            i = self._buf.find(d, self._searched)
            if i < 0:
                if len(self._buf) > self.max_size:
                    raise FrameTooLarge(f"no delimiter within {self.max_size} bytes")
                self._searched = max(len(self._buf) - len(d) + 1, 0)
                return out
            if i > self.max_size:
                raise FrameTooLarge(f"line of {i} bytes > max {self.max_size}")
            out.append(bytes(self._buf[:i]))
            del self._buf[:i + len(d)]
            self._searched = 0


class FixedLengthFramer(_Buffer):
    """Every message is exactly ``size`` bytes."""

    name = "fixed"

    def __init__(self, max_size: int = DEFAULT_MAX, size: int = 64):
        if size > max_size:
            raise FrameTooLarge(f"fixed size {size} > max {max_size}")
        super().__init__(max_size)
        self.size = size

    def encode(self, message: bytes) -> bytes:
        if len(message) != self.size:
            raise ValueError(f"fixed framing needs {self.size}-byte messages, got "
                             f"{len(message)}")
        return message

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        n = len(self._buf) // self.size
        out = [bytes(self._buf[i * self.size:(i + 1) * self.size]) for i in range(n)]
        del self._buf[:n * self.size]
        return out


#: ``--framing`` name -> framer class
FRAMERS: dict[str, type] = {f.name: f for f in (LengthPrefixFramer, DelimitedFramer,
                                                FixedLengthFramer)}
