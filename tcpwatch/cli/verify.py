"""``tcpwatch verify FILE``: tcpwatch's analysis flags against Wireshark's, per flag."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..errors import TcpwatchError
from ..report.fit import console
from ..vocab import ExitStatus
from .params import PATH, command

HELP = """Run Wireshark's TCP analysis on FILE (tshark -2, through pyshark) and compare it
with tcpwatch's, flag by flag: counts, agreement, precision, recall and the first
disagreeing frames. Exit 1 when any flag disagrees.

\b
Examples:
  tcpwatch verify capture.pcap
  tcpwatch verify capture.pcap --engine fields"""


ENGINES = ("auto", "pyshark", "fields")
NO_TSHARK = ("tshark is not on PATH: verify runs Wireshark's analysis through it "
             "(Debian/Ubuntu: apt install tshark)")


@command("verify", HELP)
@click.argument("file", type=PATH, help="capture file (pcap or pcapng)")
@click.option("--engine", type=click.Choice(ENGINES), default="auto",
              help="auto, pyshark, or fields (tshark -T fields; for large files)")
def verify(file: Path, engine: str) -> None:
    if shutil.which("tshark") is None:  # before the capture is read
        raise TcpwatchError(NO_TSHARK)
    from ..engine.pipeline import analyze as run_pipeline  # here: `tcpwatch --help` stays fast
    from ..report.verify import PYSHARK_MAX_SEGMENTS, compare, render, tshark_reference

    out = console()
    seg = run_pipeline(file)
    if engine == "auto":
        engine = "pyshark" if len(seg) <= PYSHARK_MAX_SEGMENTS else "fields"
    verdict = compare(seg, tshark_reference(file, engine=engine))
    out.print(render(verdict, f"{file}: {len(seg):,} TCP segments, Wireshark via {engine}",
                     width=out.width))
    for line in verdict.disagreements:
        out.print(line, markup=False)
    if not verdict.ok:
        raise click.exceptions.Exit(ExitStatus.DRIFT)
