"""A pcap writer that flushes as it goes, so an interrupted capture stays readable."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from ..errors import TcpwatchError

SNAPLEN = 262144


class PcapWriter:
    """Little-endian, nanosecond pcap (magic a1b23c4d), one link type."""

    def __init__(self, path: Path, linktype: int = 1):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(path, "wb")  # noqa: SIM115 - closed by close()
            self._f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, SNAPLEN, linktype))
            self._f.flush()
        except OSError as exc:
            raise TcpwatchError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.frames = 0

    def write(self, records: list[tuple[int, bytes, int]]) -> None:
        """(ts_ns, data, wire length) records; flushed before returning."""
        try:
            for ts_ns, data, wirelen in records:
                sec, ns = divmod(ts_ns, 1_000_000_000)
                self._f.write(struct.pack("<IIII", sec, ns, len(data), wirelen) + data)
            self._f.flush()
        except OSError as exc:
            raise TcpwatchError(f"cannot write {self.path}: {exc.strerror or exc} "
                                f"({self.frames} frames kept)") from None
        self.frames += len(records)

    def close(self) -> None:
        self._f.close()
        owner = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
        if os.geteuid() == 0 and all(owner):  # files of `sudo tcpwatch live` are the user's
            os.chown(self.path, int(owner[0]), int(owner[1]))
