"""``tcpwatch record`` and ``tcpwatch replay``: make captures of scenarios, guard them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..bless import GoldenRefused, bless
from ..errors import TcpwatchError
from ..golden import compare, golden_frame, read_golden
from ..parity import describe
from ..pipeline import analyze
from ..report.tables import console
from ..vocab import ExitStatus

RECORD_HELP = """Record scenarios (real TCP against a bundled server, captured by tcpdump) into
captures/NAME.pcap, with NAME.expected.csv (the golden annotation) and a line in
captures/README.md. Needs root."""

REPLAY_HELP = """Re-analyse every capture in DIR (default captures/) and compare it with its
golden NAME.expected.csv; print a per-frame diff of what changed. Exit 1 on drift.
With --update, rewrite the golden files, except any that disagrees with tshark on a column
tshark also computes: that one is left alone and the disagreement printed (exit 1)."""

MAX_SHOWN = 20


def record(
    scenarios: Annotated[list[str] | None, typer.Argument(help="scenario names")] = None,
    out: Annotated[Path, typer.Option("--out", help="where to write")] = Path("captures"),
    all_: Annotated[bool, typer.Option("--all", help="record every scenario")] = False,
) -> None:
    from ..scenarios.record import record as record_one
    from ..scenarios.registry import SCENARIOS

    names = list(SCENARIOS) if all_ else (scenarios or [])
    if not names:
        raise TcpwatchError(f"name a scenario or use --all (scenarios: {', '.join(SCENARIOS)})")
    out_console = console()
    for name in names:
        path = record_one(name, out)
        out_console.print(f"recorded {path} ({path.stat().st_size:,} bytes)")


def _pairs(directory: Path) -> list[tuple[Path, Path]]:
    caps = sorted(p for p in directory.iterdir() if p.suffix in (".pcap", ".pcapng"))
    return [(p, p.with_name(p.stem + ".expected.csv")) for p in caps]


def replay(
    directory: Annotated[Path, typer.Argument(help="folder of captures")] = Path("captures"),
    update: Annotated[bool, typer.Option(
        "--update", help="rewrite the golden files from today's analysis")] = False,
) -> None:
    if not directory.is_dir():
        raise TcpwatchError(f"{directory} is not a folder")
    out = console()
    table = Table(title=f"replay {directory}", title_justify="left")
    for c in ("capture", "segments", "result"):
        table.add_column(c)
    drifted = 0
    details: list[str] = []
    for pcap, golden in _pairs(directory):
        seg = analyze(pcap)
        if update:
            try:
                bless(seg, pcap, golden)
            except GoldenRefused as exc:
                drifted += 1
                table.add_row(pcap.name, str(len(seg)),
                              f"[red]REFUSED[/] {len(exc.diff)} cells disagree with tshark")
                details.append(f"{pcap.name}: frame column: tcpwatch, tshark")
                details += [f"  {line}" for line in describe(exc.diff, MAX_SHOWN)]
                continue
            table.add_row(pcap.name, str(len(seg)), "golden file written")
            continue
        if not golden.exists():
            drifted += 1
            table.add_row(pcap.name, str(len(seg)), "[red]no golden file[/] (--update)")
            continue
        drifts = compare(read_golden(golden), golden_frame(seg))
        if drifts:
            drifted += 1
            table.add_row(pcap.name, str(len(seg)), f"[red]DRIFT[/] {len(drifts)} cells")
            details.append(f"{pcap.name}: frame column: golden -> now")
            details += [f"  #{d.frame} {d.column}: {d.expected!r} -> {d.actual!r}"
                        for d in drifts[:MAX_SHOWN]]
            if len(drifts) > MAX_SHOWN:
                details.append(f"  ... and {len(drifts) - MAX_SHOWN} more")
        else:
            table.add_row(pcap.name, str(len(seg)), "[green]ok[/]")
    out.print(table)
    for line in details:
        out.print(line, markup=False)
    if drifted:
        raise typer.Exit(ExitStatus.DRIFT)
