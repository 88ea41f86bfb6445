"""A pcap writer that flushes as it goes, so an interrupted capture stays readable."""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

from ..errors import TcpwatchError

SNAPLEN = 262144


class PcapWriter:
    """Little-endian, nanosecond pcap (magic a1b23c4d), one link type.  Each batch is
    written whole and flushed; if a write fails (disk full, permission), the file is cut
    back to the last complete batch, so what it holds stays a valid capture."""

    def __init__(self, path: Path, linktype: int = 1):
        self.path = path
        self.error: str | None = None
        self.frames = 0
        try:
            self._made = _missing_parents(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            # unbuffered: nothing is held back, so a failed write leaves nothing pending
            self._f = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
            self._write_all(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, SNAPLEN,
                                        linktype))
        except OSError as exc:
            raise TcpwatchError(f"cannot write {path}: {exc.strerror or exc}") from None
        self._good = 24

    def write(self, records: list[tuple[int, bytes, int]]) -> None:
        """(ts_ns, data, wire length) records; flushed before returning."""
        if self.error is not None or not records:
            return
        blob = b"".join(
            struct.pack("<IIII", *divmod(ts_ns, 1_000_000_000), len(data), wirelen) + data
            for ts_ns, data, wirelen in records)
        try:
            self._write_all(blob)
        except OSError as exc:
            self.error = (f"cannot write {self.path}: {exc.strerror or exc} "
                          f"(kept the {self.frames} frames written before)")
            self._cut_back()
            raise TcpwatchError(self.error) from None
        self._good += len(blob)
        self.frames += len(records)

    def _write_all(self, blob: bytes) -> None:
        view = memoryview(blob)
        while view:
            view = view[self._f.write(view):]

    def _cut_back(self) -> None:
        with contextlib.suppress(OSError):
            os.ftruncate(self._f.fileno(), self._good)
        self._f.close()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
        owner = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
        if os.geteuid() == 0 and all(owner):  # files of `sudo tcpwatch live` are the user's
            for p in (*self._made, self.path):
                with contextlib.suppress(OSError):
                    os.chown(p, int(owner[0]), int(owner[1]))


    def discard(self) -> None:
        """Close and remove the file and the folders made for it (nothing was captured)."""
        if not self._f.closed:
            self._f.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
            for p in reversed(self._made):
                p.rmdir()


def _missing_parents(path: Path) -> list[Path]:
    """The directories above ``path`` that do not exist yet, outermost first."""
    missing = []
    p = path.parent.absolute()
    while not p.exists():
        missing.append(p)
        p = p.parent
    return missing[::-1]
