"""Measure tcpwatch against tshark and tcptrace on the same capture, in one run.

    scripts/bench [--capture PATH] [--segments N] [--runs K]

Each tool runs as its own process; wall time and peak RSS come from wait4() on that
process.  The capture is read once beforehand so all three find it in the page cache.
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
import tcpwatch
from tcpwatch.export import write_segments
from tcpwatch.flows import assign_connections
from tcpwatch.states.apply import apply_states
from tcpwatch.analysis.flags import flag_analysis
t0 = time.perf_counter()
seg = tcpwatch.read_segments(sys.argv[1])
t1 = time.perf_counter()
seg = assign_connections(seg)
t2 = time.perf_counter()
full = apply_states(seg)
t3 = time.perf_counter()
flag_analysis(full)
t3b = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    write_segments(seg, Path(tmp) / "a.parquet")
    t4 = time.perf_counter()
    write_segments(full, Path(tmp) / "b.parquet")
    t5 = time.perf_counter()
print(json.dumps({"read + decode": t1 - t0, "connections": t2 - t1, "states": t3 - t2,
                  "analysis flags": t3b - t3, "write without states": t4 - t3b,
                  "write with states": t5 - t4, "segments": len(seg)}))
"""


def stage_times(path: Path) -> dict[str, float]:
    """Seconds per pipeline stage, measured in a child process."""
    res = subprocess.run([sys.executable, "-c", STAGES, str(path)], capture_output=True,
                         text=True, check=True)
    return json.loads(res.stdout)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--capture", type=Path)
    p.add_argument("--segments", type=int, default=2_000_000,
                   help="target TCP segments when the capture must be made")
    p.add_argument("--runs", type=int, default=1, help="runs per tool (best is shown)")
    a = p.parse_args()
    out = console()
    path = a.capture or cache_dir() / f"bench-{a.segments}.pcap"
    if not path.exists():
        if os.geteuid() != 0:
            raise SystemExit("making the benchmark capture needs root (namespaces, tcpdump)")
        out.print(f"making {path} (real traffic over a veth pair, 1 % loss; once)")
        path.parent.mkdir(parents=True, exist_ok=True)
        bench_capture.make(path, a.segments)
    with open(path, "rb") as f:  # warm the page cache for every tool alike
        while f.read(1 << 24):
            pass
    stages = stage_times(path)
    n = stages["segments"]
    tcpwatch_bin = str(Path(sys.executable).parent / "tcpwatch")
    with tempfile.TemporaryDirectory() as tmp:
        tools = {
            "tcpwatch analyze -o x.parquet": [tcpwatch_bin, "analyze", str(path), "-q", "-o",
                                              str(Path(tmp) / "x.parquet")],
            "tshark -2 -T fields": ["tshark", "-2", "-n", "-r", str(path), "-T", "fields",
                                    *[arg for f in TSHARK_FIELDS for arg in ("-e", f)]],
            "tcptrace -l": ["tcptrace", "-l", str(path)],
        }
        results = {}
        for name, argv in tools.items():
            if shutil.which(argv[0]) is None:
                continue
            best = min((measure(argv) for _ in range(a.runs)), key=lambda r: r[0])
            results[name] = best
    base = "tshark -2 -T fields"
    table = Table(title=f"{path.name}: {n:,} TCP segments, {path.stat().st_size / 1e6:.0f} MB",
                  title_justify="left")
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
    base_rss = measure([sys.executable, "-c", "import tcpwatch.cli.main, pyarrow.parquet"])[1]
    tw_rss = results["tcpwatch analyze -o x.parquet"][1]
    out.print(f"tcpwatch: {base_rss / 1e6:.0f} MB of that peak is the interpreter and its "
              f"libraries (an empty run); the rest is {(tw_rss - base_rss) / n:.0f} bytes "
              "per segment.")
    out.print("tcpwatch stages in-process: " + ", ".join(
        f"{k} {v:.2f} s" for k, v in stages.items() if k != "segments"))
    without = stages["read + decode"] + stages["connections"] + stages["write without states"]
    added = stages["states"] + stages["write with states"] - stages["write without states"]
    out.print(f"the states stage (computing it, and writing its columns) adds {added:.2f} s = "
              f"{100 * added / without:.0f} % to the pipeline without it ({without:.2f} s)")

if __name__ == "__main__":
    main()
