"""What a fuzzed capture must do: read and analyze, or fail with tcpwatch's own one-line
error, within a time and memory bound -- and the same whatever the read chunk size.

A finding (an :class:`AssertionError`) is: any exception other than a TcpwatchError, a
TcpwatchError whose message is not one line, a warning other than CaptureWarning, a
different outcome when the file is read in small chunks, more than TIME_LIMIT seconds,
or an allocation beyond MEMORY_HEADROOM of address space (RLIMIT_AS turns it into a
MemoryError, which is a finding like any other).  A hang inside the C walks cannot be
interrupted, so a watchdog (faulthandler) dumps the stacks and exits after HANG_LIMIT.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import tcpwatch
from tcpwatch.capture.pcapfile import DEFAULT_CHUNK
from tcpwatch.cli.main import main as cli_main
from tcpwatch.errors import TcpwatchError

TIME_LIMIT = 10.0  # seconds per input; inputs are < 200 KB and normally take < 0.2 s
HANG_LIMIT = 120.0
MEMORY_HEADROOM = 1 << 30  # address space above the process's size when the bound is set


class Finding(AssertionError):
    """A fuzzed input broke a rule (the message says which, with the traceback)."""


@dataclass
class Outcome:
    kind: str  # ok | error
    message: str  # the error, or the warnings joined
    frame: pd.DataFrame | None = None


@contextlib.contextmanager
def memory_bound(headroom: int = MEMORY_HEADROOM) -> Iterator[None]:
    """Limit the address space to what the process uses now plus ``headroom``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * resource.getpagesize()
    limit = size + headroom
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY
                                            else min(limit, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _read(data: bytes, chunk_size: int) -> Outcome:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            seg = tcpwatch.read_segments(io.BytesIO(data), chunk_size=chunk_size)
        except TcpwatchError as exc:
            return Outcome("error", _one_line(str(exc), "error"))
    texts = []
    for w in caught:
        if not issubclass(w.category, tcpwatch.CaptureWarning):
            raise Finding(f"warning {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})")
        texts.append(_one_line(str(w.message), "warning"))
    return Outcome("ok", "\n".join(texts), seg)


def _one_line(text: str, what: str) -> str:
    if not text or "\n" in text:
        raise Finding(f"{what} message is not one line: {text!r}")
    return text


def check(data: bytes, chunk_size: int = 97) -> Outcome:
    """Run one input through reader, decoder and the whole pipeline; raise Finding."""
    start = time.monotonic()
    faulthandler.dump_traceback_later(HANG_LIMIT, exit=True)
    try:
        whole = _read(data, DEFAULT_CHUNK)
        small = _read(data, chunk_size)
        if (whole.kind, whole.message) != (small.kind, small.message):
            raise Finding(f"chunk size {chunk_size} changes the outcome: "
                          f"{whole.kind} {whole.message!r} vs {small.kind} {small.message!r}")
        if whole.frame is not None:
            pd.testing.assert_frame_equal(whole.frame, small.frame, check_categorical=False)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                whole.frame = tcpwatch.analyze(whole.frame)
            if caught:
                w = caught[0]
                raise Finding(f"analyze warned {w.category.__name__}: {w.message}")
    except Finding:
        raise
    except AssertionError as exc:
        raise Finding(f"chunk size {chunk_size} changes the segments: {exc}") from exc
    except TcpwatchError as exc:  # from the pipeline after a successful read
        _one_line(str(exc), "error")
        return Outcome("error", str(exc))
    except Exception as exc:  # MemoryError, RecursionError, ... all findings
        raise Finding("".join(traceback.format_exception(exc))) from exc
    finally:
        faulthandler.cancel_dump_traceback_later()
    elapsed = time.monotonic() - start
    if elapsed > TIME_LIMIT:
        raise Finding(f"took {elapsed:.1f} s (limit {TIME_LIMIT} s)")
    return whole


def check_cli(path: Path) -> tuple[int, str]:
    """``tcpwatch analyze FILE -o CSV`` in-process: exit 0 with one-line warnings, or exit 2
    with exactly one line ``tcpwatch: error: ...``; never a traceback."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            cli_main(["analyze", str(path), "-o", str(path.with_suffix(".csv"))])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    text = err.getvalue()
    lines = text.strip().splitlines()
    if "Traceback" in text or code not in (0, 2):
        raise Finding(f"CLI exit {code}: {text}")
    if code == 2 and (len(lines) != 1 or not lines[0].startswith("tcpwatch: error: ")):
        raise Finding(f"CLI error is not one line: {text!r}")
    if code == 0 and any(not ln.startswith("tcpwatch: warning: ") for ln in lines):
        raise Finding(f"CLI printed more than warnings: {text!r}")
    return code, text


def save(data: bytes, folder: Path, stem: str) -> Path:
    """Keep a failing input (pcapng or pcap by its magic) for a regression test."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".pcapng" if data[:4] == b"\x0a\x0d\x0d\x0a" else ".pcap"
    path = folder / f"{stem}{suffix}"
    path.write_bytes(data)
    print(f"saved {path} ({len(data)} bytes)", file=sys.stderr)
    return path
