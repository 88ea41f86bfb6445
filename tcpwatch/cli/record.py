"""``tcpwatch record`` and ``tcpwatch replay``: make captures of scenarios, guard them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from ..errors import TcpwatchError
from ..lab.scenarios.registry import SCENARIOS
from ..report.fit import console
from ..vocab import ExitStatus
from .params import PATH, command, list_or_none

RECORD_HELP = """Record scenarios (real TCP against a bundled server, captured by tcpdump) into
captures/NAME.pcap, with NAME.expected.csv (the golden annotation) and a line in
captures/README.md. Needs root.

\b
Examples:
  sudo tcpwatch record zero_window
  sudo tcpwatch record lossy_bulk --out /tmp/caps"""

REPLAY_HELP = """Re-analyse every capture in DIR (default captures/) and compare it with its
golden NAME.expected.csv; print a per-frame diff of what changed, and check each golden
file against tshark on the columns tshark also computes. Exit 1 on drift or disagreement.
With --update, rewrite the golden files, except any that disagrees with tshark on a column
tshark also computes: that one is left alone and the disagreement printed (exit 1).

\b
Examples:
  tcpwatch replay
  tcpwatch replay captures/ --update"""

MAX_SHOWN = 20


@command("record", RECORD_HELP)
@click.argument("scenarios", nargs=-1, callback=list_or_none,
                help=f"scenario names: {', '.join(SCENARIOS)}")
@click.option("--out", type=PATH, default=Path("captures"), help="where to write")
@click.option("--all", "all_", is_flag=True, help="record every scenario")
def record(scenarios: list[str] | None, out: Path, all_: bool) -> None:

    names = list(SCENARIOS) if all_ else (scenarios or [])
    if not names:
        raise TcpwatchError(f"name a scenario or use --all (scenarios: {', '.join(SCENARIOS)})")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:  # all refused before the first is recorded
        raise TcpwatchError(f"unknown scenario {unknown[0]!r} (one of {', '.join(SCENARIOS)})")
    if os.geteuid() != 0:
        raise TcpwatchError("tcpwatch record needs root (network namespaces, nftables, "
                            "tcpdump); try: sudo tcpwatch record")
    _needs("tcpdump", "tshark", "ip")
    if out.exists() and not out.is_dir():
        raise TcpwatchError(f"--out {out} is a file, not a folder")
    from ..lab.scenarios.record import record as record_one  # the pipeline: once checked
    out_console = console()
    for name in names:
        path = record_one(name, out)
        out_console.print(f"recorded {path} ({path.stat().st_size:,} bytes)")


def _needs(*tools: str) -> None:
    """The programs a command runs, found on PATH before it starts."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise TcpwatchError(f"{', '.join(missing)} not found on PATH (Debian/Ubuntu: "
                            "scripts/setup installs them, or apt install tcpdump tshark "
                            "iproute2)")


def _pairs(directory: Path) -> list[tuple[Path, Path]]:
    caps = sorted(p for p in directory.iterdir() if p.suffix in (".pcap", ".pcapng"))
    return [(p, p.with_name(p.stem + ".expected.csv")) for p in caps]


@command("replay", REPLAY_HELP)
@click.argument("directory", type=PATH, default=Path("captures"), help="folder of captures")
@click.option("--update", is_flag=True, help="rewrite the golden files from today's analysis")
def replay(directory: Path, update: bool) -> None:
    if not directory.is_dir():
        raise TcpwatchError(f"{directory} is not a folder")
    _needs("tshark")  # every golden file is checked against it, --update too
    pairs = _pairs(directory)
    if not pairs:
        raise TcpwatchError(f"no captures (.pcap, .pcapng) in {directory}")
    from ..engine.pipeline import analyze  # the pipeline: once the folder is checked

    out = console()
    from ..report.fit import Column, fitted_table

    drifted = 0
    details: list[str] = []
    rows: list[tuple[str, str, str, bool]] = []
    for pcap, golden in pairs:
        seg = analyze(pcap)
        ok, result, lines = (_update if update else _check)(seg, pcap, golden)
        drifted += not ok
        rows.append((pcap.name, f"{len(seg):,}", result, ok))
        details += lines
    out.print(fitted_table([
        Column("capture", [r[0] for r in rows]),
        Column("segments", [r[1] for r in rows], numeric=True),
        Column("result", [r[2] for r in rows], styles=[None if r[3] else "red" for r in rows]),
    ], out.width, title=f"replay {directory}"))
    for line in details:
        out.print(line, markup=False)
    if drifted:
        raise click.exceptions.Exit(ExitStatus.DRIFT)


Outcome = tuple[bool, str, list[str]]  # ok, the table's result cell, detail lines


def _update(seg, pcap: Path, golden: Path) -> Outcome:
    from ..report.bless import GoldenRefused, bless
    from ..report.parity import describe

    try:
        bless(seg, pcap, golden)
    except GoldenRefused as exc:
        return (False, f"REFUSED {len(exc.diff)} cells disagree with tshark",
                [f"{pcap.name}: not written; frame column: tcpwatch, tshark",
                 *(f"  {line}" for line in describe(exc.diff, MAX_SHOWN))])
    return True, "golden file written", []


def _check(seg, pcap: Path, golden: Path) -> Outcome:
    """Today's analysis against the golden file, and the golden file against tshark."""
    from ..report.golden import compare, golden_frame, read_golden
    from ..report.parity import compare_golden_with_tshark, describe

    if not golden.exists():
        return False, "no golden file (--update)", []
    expected = read_golden(golden)
    drifts = compare(expected, golden_frame(seg))
    wrong = compare_golden_with_tshark(expected, pcap)
    lines: list[str] = []
    if drifts:
        lines.append(f"{pcap.name}: frame column: golden -> now")
        lines += [f"  #{d.frame} {d.column}: {d.expected!r} -> {d.actual!r}"
                  for d in drifts[:MAX_SHOWN]]
        if len(drifts) > MAX_SHOWN:
            lines.append(f"  ... and {len(drifts) - MAX_SHOWN} more")
    if len(wrong):
        lines.append(f"{pcap.name}: the golden file disagrees with tshark: frame column: "
                     "golden, tshark")
        lines += [f"  {line}" for line in describe(wrong, MAX_SHOWN, ours="golden")]
    if not lines:
        return True, "ok", []
    parts = [f"DRIFT {len(drifts)} cells"] if drifts else []
    parts += [f"NOT TSHARK {len(wrong)} cells"] if len(wrong) else []
    return False, ", ".join(parts), lines
