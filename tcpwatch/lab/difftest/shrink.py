"""A failing capture cut down to what still fails, saved under ``captures/regress/``.

Connections are tshark's streams (a frame's ``tcp.stream``, so the cut does not trust
the code under test).  A disagreement keeps the streams of the frames that disagree, a
traceback every stream; then the set is halved while a half still fails the same way.
Every cut is checked again; if none fails, the capture is kept whole.  Frames
are copied with tcpwatch's reader and pcap writer (nanosecond pcap, same link type).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...capture.pcapfile import CaptureReader
from ...capture.pcapwriter import PcapWriter
from ...report.verify import tshark_fields
from .compare import Findings, check

MAX_BYTES = 2_000_000  # a regression capture stays small
README_HEAD = """# captures/regress/

Captures on which `scripts/difftest` found tcpwatch disagreeing with `tshark -2`, the live
session disagreeing with offline analysis, or a traceback -- each cut down to the
connections that show it (`tcpwatch/lab/difftest/shrink.py`).  `tests/difftest/test_regress.py`
replays every one.  Recorded by `scripts/difftest` in network namespaces, tcpdump
headers only.

| capture | seed (profile) | what disagreed |
|---|---|---|
"""


def streams(path: Path) -> np.ndarray:
    """tshark's ``tcp.stream`` per frame, frame 1 first (-1: not TCP)."""
    ref = tshark_fields(path, ["tcp.stream"], display_filter="", two_pass=False)
    out = np.full(len(ref), -1, np.int64)
    for i, v in enumerate(ref["tcp.stream"].tolist()):
        if v:
            out[i] = int(v.split(",")[-1])
    return out


def write_frames(src: Path, dst: Path, keep: np.ndarray) -> int:
    """Copy the frames of ``src`` whose 0-based index is True in ``keep``; how many."""
    writer = None
    try:
        for raw in CaptureReader(src, 1 << 20):
            if writer is None:
                writer = PcapWriter(dst, int(raw.linktype[0]) if len(raw) else 1)
            writer.write([(int(raw.ts_ns[i]), raw.buf[raw.off[i]:raw.off[i] + raw.caplen[i]]
                           .tobytes(), int(raw.origlen[i]))
                          for i in range(len(raw)) if keep[raw.frame[i] - 1]])
    finally:
        if writer is not None:
            writer.close()
    return int(keep.sum())


def bad_frames(found: Findings) -> set[int]:
    return set(found.tshark["frame"].tolist()) | set(found.live["frame"].tolist())


def _reproduces(kinds: list[str]) -> Callable[[Findings], bool]:
    return lambda f: bool(set(kinds) & set(f.kinds()))


def shrink(path: Path, found: Findings, seed: int, work: Path,
           max_checks: int = 16) -> tuple[Path, Findings]:
    """The smallest capture (of those tried) that still fails as ``found`` did: the
    streams of the frames that disagree (every stream, for a traceback), then halves of
    them while a half still fails (at most ``max_checks`` checks)."""
    same = _reproduces(found.kinds())
    per_frame = streams(path)
    work.mkdir(parents=True, exist_ok=True)
    candidate = work / f"shrink-{seed}.pcap"
    checks = 0

    def attempt(keep_streams: set[int]) -> Findings | None:
        nonlocal checks
        checks += 1
        write_frames(path, candidate, np.isin(per_frame, sorted(keep_streams)))
        again = check(candidate, seed)
        return again if same(again) else None

    if found.tracebacks:
        keep = set(per_frame[per_frame >= 0].tolist())
        best = None
    else:
        frames = np.array(sorted(bad_frames(found)), np.int64)
        frames = frames[(frames >= 1) & (frames <= len(per_frame))]
        keep = set(per_frame[frames - 1].tolist()) - {-1}
        best = attempt(keep) if keep else None
        if best is None:
            return path, found
    while len(keep) > 1 and checks < max_checks:
        ordered = sorted(keep)
        for half in (set(ordered[:len(ordered) // 2]), set(ordered[len(ordered) // 2:])):
            again = attempt(half)
            if again is not None:
                keep, best = half, again
                break
        else:
            break
    if best is None:
        return path, found
    write_frames(path, candidate, np.isin(per_frame, sorted(keep)))
    return candidate, best


def save(path: Path, found: Findings, seed: int, profile: str, regress: Path,
         work: Path) -> Path | None:
    """Shrink the failing capture, copy it to ``regress`` as ``seed<N>-<kinds>.pcap``
    and add its line to the folder's README; None if it is too big to keep."""
    small, again = shrink(path, found, seed, work)
    if small.stat().st_size > MAX_BYTES:
        return None
    regress.mkdir(parents=True, exist_ok=True)
    name = f"seed{seed}-{'-'.join(again.kinds()) or 'flaky'}.pcap"
    dst = regress / name
    dst.write_bytes(small.read_bytes())
    readme = regress / "README.md"
    text = readme.read_text() if readme.exists() else README_HEAD
    line = f"| `{name}` | {seed} ({profile}) | {describe(again)} |"
    pattern = re.compile(rf"^\| `{re.escape(name)}` \|.*$", re.M)
    text = pattern.sub(line, text) if pattern.search(text) else text.rstrip("\n") + "\n" + line
    readme.write_text(text + ("" if text.endswith("\n") else "\n"))
    return dst


def describe(found: Findings, show: int = 3) -> str:
    """One line: what failed, where."""
    parts = [t.strip().splitlines()[-1] for t in found.tracebacks]
    for what, diff in (("vs tshark", found.tshark), ("live vs offline", found.live)):
        if diff.empty:
            continue
        cols = diff.groupby("column")["frame"].agg(list)
        for col, frames in cols.items():
            first = diff[diff["column"] == col].iloc[0]
            parts.append(f"{what}: `{col}` on {len(frames)} frames (frame {first['frame']}: "
                         f"tcpwatch `{first['tcpwatch']}`, "
                         f"{'tshark' if what == 'vs tshark' else 'live'} `{first['tshark']}`)")
            if len(parts) >= show * 2:
                break
    return "; ".join(parts).replace("|", "/")
