"""Measure tcpwatch against tshark and tcptrace on the same capture, in one run.

    scripts/bench [--capture PATH] [--kind bulk|many ...] [--runs K] [--tshark-runs K]

Two made captures (scripts/bench_capture.py): ``bulk`` (2 M segments, mostly four bulk
transfers) and ``many`` (620 k segments, 16,000 short connections beside four bulk ones).
Each tool runs as its own process; wall time and peak RSS come from GNU time.  The capture
is read once beforehand so every tool finds it in the page cache.  tcpwatch runs twice:
as users run it (the summary and episodes printed) and with -q.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_capture  # noqa: E402

from tcpwatch.report.fit import console  # noqa: E402

TSHARK_FIELDS = ["frame.number", "tcp.stream", "tcp.seq", "tcp.ack", "tcp.len",
                 "tcp.window_size_value", "tcp.window_size"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tcpwatch"


def measure(argv: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes) of one run of ``argv``, from GNU time.

    Not from wait4() here: a forked child inherits its parent's RSS high-water mark
    before exec, so the parent's size would leak into every figure.
    """
    res = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *argv],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({res.returncode}): {res.stderr[-400:]}")
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("TIME ")][-1]
    _, wall, kib = line.split()
    return float(wall), int(kib) * 1024


STAGES = """
import json, sys, tempfile, time
from pathlib import Path
import pandas  # imported before the clock starts: the stages, not the imports, are timed
import tcpwatch
from tcpwatch.report.episodes import episodes
from tcpwatch.report.export import write_segments
from tcpwatch.report.summary import summarize_connections
t0 = time.perf_counter()
seg = tcpwatch.read_segments(sys.argv[1])
t1 = time.perf_counter()
full = tcpwatch.analyze(seg)  # the engine's walks over the decoded table, one batch
t2 = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    write_segments(full, Path(tmp) / "a.parquet")
    t3 = time.perf_counter()
t4 = time.perf_counter()
summary = summarize_connections(full)
t5 = time.perf_counter()
episodes(full)
t6 = time.perf_counter()
print(json.dumps({"read + decode": t1 - t0, "engine (flows, states, flags)": t2 - t1,
                  "Parquet write": t3 - t2, "summary": t5 - t4, "episodes": t6 - t5,
                  "segments": len(seg), "connections_count": len(summary)}))
"""


def stage_times(path: Path) -> dict[str, float]:
    """Seconds per pipeline stage, measured in a child process."""
    res = subprocess.run([sys.executable, "-c", STAGES, str(path)], capture_output=True,
                         text=True, check=True)
    return json.loads(res.stdout)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--capture", type=Path, help="one given capture instead of the made ones")
    p.add_argument("--kind", choices=list(bench_capture.KINDS), action="append",
                   help="which made capture (repeatable; default: all)")
    p.add_argument("--runs", type=int, default=5,
                   help="rounds of tcpwatch and tcptrace runs, interleaved (the best is "
                        "shown)")
    p.add_argument("--tshark-runs", type=int, default=1,
                   help="runs of tshark (minutes each on these captures)")
    a = p.parse_args()
    out = console()
    if a.capture:
        paths = [a.capture]
    else:
        paths = [made_capture(kind, out) for kind in a.kind or list(bench_capture.KINDS)]
    for path in paths:
        bench_one(path, a.runs, a.tshark_runs, out)


def made_capture(kind: str, out) -> Path:
    """The cached benchmark capture of ``kind``, made first if it is missing."""
    path = cache_dir() / f"bench-{kind}.pcap"
    if not path.exists():
        if os.geteuid() != 0:
            raise SystemExit("making a benchmark capture needs root (namespaces, tcpdump)")
        out.print(f"making {path} (real traffic over a veth pair; once)")
        path.parent.mkdir(parents=True, exist_ok=True)
        bench_capture.make(path, bench_capture.KINDS[kind])
    return path


def compile_bytecode() -> None:
    """Write the package's bytecode first, as ``pip install`` of a wheel does: an editable
    install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module of
    tcpwatch on each run (0.1 s here), which no installed copy does."""
    package = Path(__file__).resolve().parent.parent / "tcpwatch"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True,
                   stdout=subprocess.DEVNULL)


def bench_one(path: Path, runs: int, tshark_runs: int, out) -> None:
    compile_bytecode()
    with open(path, "rb") as f:  # warm the page cache for every tool alike
        while f.read(1 << 24):
            pass
    stages = stage_times(path)
    n = stages["segments"]
    tcpwatch_bin = str(Path(sys.executable).parent / "tcpwatch")
    with tempfile.TemporaryDirectory() as tmp:
        parquet = str(Path(tmp) / "x.parquet")
        tools = {
            "tcpwatch analyze -o x.parquet (report printed)": [tcpwatch_bin, "analyze",
                                                                str(path), "-o", parquet],
            "tcpwatch analyze -q -o x.parquet": [tcpwatch_bin, "analyze", str(path), "-q",
                                                 "-o", parquet],
            "tshark -2 -T fields": ["tshark", "-2", "-n", "-r", str(path), "-T", "fields",
                                    *[arg for f in TSHARK_FIELDS for arg in ("-e", f)]],
            "tcptrace -l": ["tcptrace", "-l", str(path)],
        }
        tools = {k: v for k, v in tools.items() if shutil.which(v[0]) is not None}
        # round after round, each tool once per round (tshark: its own runs), the best
        # of each kept: this VM's speed drifts by tens of percent within minutes, and
        # a tool's runs taken back to back would all fall in one slow or fast stretch
        times: dict[str, list[tuple[float, int]]] = {k: [] for k in tools}
        for r in range(max(runs, tshark_runs)):
            for name, argv in tools.items():
                if r < (tshark_runs if argv[0] == "tshark" else runs):
                    times[name].append(measure(argv))
        results = {k: min(v, key=lambda t: t[0]) for k, v in times.items()}
    base = "tshark -2 -T fields"
    conns = stages["connections_count"]
    table = Table(title=f"{path.name}: {n:,} TCP segments, {conns:,} connections, "
                        f"{path.stat().st_size / 1e6:.0f} MB", title_justify="left")
    for c in ("tool", "wall s", "segments/s", "peak RSS MB", "bytes/segment",
              "speed vs tshark", "speed vs tcptrace"):
        table.add_column(c, justify="left" if c == "tool" else "right")
    for name, (wall, rss) in results.items():
        rate = n / wall
        vs_t = results[base][0] / wall if base in results else float("nan")
        vs_tt = results["tcptrace -l"][0] / wall if "tcptrace -l" in results else float("nan")
        table.add_row(name, f"{wall:.2f}", f"{rate:,.0f}", f"{rss / 1e6:.0f}",
                      f"{rss / n:.0f}", f"{vs_t:.1f}×", f"{vs_tt:.2f}×")
    out.print(table)
    base_rss = measure([sys.executable, "-c",
                        "import tcpwatch.engine.pipeline, pyarrow.parquet"])[1]
    tw_rss = results["tcpwatch analyze -q -o x.parquet"][1]
    out.print(f"tcpwatch -q: {base_rss / 1e6:.0f} MB of that peak is the interpreter and its "
              f"libraries (an empty run); the rest is {(tw_rss - base_rss) / n:.0f} bytes "
              "per segment.")
    out.print("tcpwatch stages in-process: " + ", ".join(
        f"{k} {v:.2f} s" for k, v in stages.items() if k not in ("segments",
                                                              "connections_count")))


if __name__ == "__main__":
    main()
