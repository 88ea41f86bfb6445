"""``scripts/difftest --seed N --minutes M``: play seeds N, N+1, ... until M minutes are
spent (or ``--runs`` seeds are done); check each capture; save what fails.

Exit status 0 when every capture agreed, 1 on any disagreement or traceback, 2 when the
lab itself failed (no namespaces, no tshark) before any capture was checked.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ...errors import TcpwatchError
from .compare import Findings, check
from .mix import PROFILES, plan
from .shrink import describe, save
from .traffic import play

REPO = Path(__file__).resolve().parents[2]


@dataclass(slots=True)
class Tally:
    seeds: list[int] = field(default_factory=list)
    connections: int = 0
    segments: int = 0
    failed: list[tuple[int, str, Path | None]] = field(default_factory=list)  # seed, what
    lab_errors: list[tuple[int, str]] = field(default_factory=list)
    socket_outcomes: dict[str, int] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)  # --single-stack
    flags: dict[str, int] = field(default_factory=dict)  # analysis flags seen (tcpwatch's)

    def line(self, seconds: float) -> str:
        seeds = (f"{self.seeds[0]}-{self.seeds[-1]}" if len(self.seeds) > 1
                 else str(self.seeds[0]) if self.seeds else "none")
        return (f"difftest: seeds {seeds} ({len(self.seeds)} runs, {seconds / 60:.1f} min): "
                f"{self.connections:,} connections, {self.segments:,} segments, "
                f"{len(self.failed)} failing captures"
                + (f", {len(self.lab_errors)} lab errors" if self.lab_errors else "")
                + (f", {len(self.skipped)} dual-stack seeds skipped" if self.skipped else ""))


def run_seed(seed: int, profile: str, work: Path, regress: Path | None,
             tally: Tally, keep: bool = False) -> Findings | None:
    p = plan(seed, profile)
    try:
        played = play(p, work)
    except TcpwatchError as exc:
        tally.lab_errors.append((seed, str(exc)))
        return None
    for k, v in played.client.items():
        tally.socket_outcomes[k] = tally.socket_outcomes.get(k, 0) + v
    found = check(played.pcap, seed)
    tally.seeds.append(seed)
    tally.connections += found.connections
    tally.segments += found.segments
    if found.offline is not None:
        names = found.offline["events"].astype(str).str.split(";").explode()
        for name, n in names[names != ""].value_counts().items():
            tally.flags[name] = tally.flags.get(name, 0) + int(n)
    found.offline = None  # the table is not needed any more
    if not found.ok:
        saved = save(played.pcap, found, seed, profile, regress, work) if regress else None
        tally.failed.append((seed, describe(found), saved))
    elif not keep:
        played.pcap.unlink(missing_ok=True)
    return found


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="scripts/difftest", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    ap.add_argument("--minutes", type=float, default=5.0,
                    help="stop starting new seeds after this long (default 5)")
    ap.add_argument("--runs", type=int, default=0, help="at most this many seeds (0: no limit)")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="long")
    ap.add_argument("--regress", default=str(REPO / "captures" / "regress"),
                    help="where failing captures go ('': nowhere)")
    ap.add_argument("--single-stack", action="store_true",
                    help="skip the seeds whose plan mixes IPv4 and IPv6 in one capture")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep every capture and plan in this folder")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    # SIGTERM unwinds like Ctrl-C: the namespaces, tcpdump and the peers are cleaned up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console = Console(stderr=True, highlight=False)
    tally = Tally()
    t0 = time.monotonic()
    regress = Path(a.regress) if a.regress else None
    with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
        work = a.keep or Path(tmp)
        progress = Progress(TextColumn("[bold]difftest[/] {task.description}"), BarColumn(),
                            TimeElapsedColumn(), console=console, transient=False)
        with progress:
            task = progress.add_task("", total=a.minutes * 60)
            seed = a.seed
            while time.monotonic() - t0 < a.minutes * 60 and (
                    not a.runs or len(tally.seeds) + len(tally.lab_errors) < a.runs):
                if a.single_stack and len(plan(seed, a.profile).families) > 1:
                    tally.skipped.append(seed)
                    seed += 1
                    continue
                progress.update(task, description=f"seed {seed} ({a.profile}): playing")
                found = run_seed(seed, a.profile, work, regress, tally, a.keep is not None)
                verdict = ("lab error" if found is None else "[green]agree[/]" if found.ok
                           else f"[red]{', '.join(found.kinds())}[/]")
                progress.console.print(
                    f"seed {seed}: {verdict}" + (f", {found.connections:,} connections, "
                                                 f"{found.segments:,} segments" if found else ""))
                progress.update(task, completed=min(time.monotonic() - t0, a.minutes * 60),
                                description=f"{len(tally.seeds)} seeds, "
                                            f"{tally.segments:,} segments, "
                                            f"{len(tally.failed)} failing")
                seed += 1
    for seed, what, saved in tally.failed:
        console.print(f"seed {seed}: {what}" + (f" -> {saved}" if saved else ""), markup=False)
    for seed, what in tally.lab_errors:
        console.print(f"seed {seed}: lab error: {what}", markup=False)
    console.print("flags: " + ", ".join(f"{k} {v:,}" for k, v in sorted(tally.flags.items())),
                  markup=False)
    console.print("client sockets: " + ", ".join(
        f"{k} {v:,}" for k, v in sorted(tally.socket_outcomes.items())), markup=False)
    print(tally.line(time.monotonic() - t0), flush=True)
    if tally.failed:
        return 1
    return 2 if tally.lab_errors and not tally.seeds else 0


if __name__ == "__main__":
    sys.exit(main())
