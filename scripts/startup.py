"""Start-up times of the commands that do no analysis: the median of N runs of each, wall
clock, measured here and not in tests.  Run: .venv/bin/python scripts/startup.py [-n N]"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tcpwatch.report.fit import console

TCPWATCH = str(Path(sys.executable).with_name("tcpwatch"))
COMMANDS = {
    "python -c pass (the floor)": [sys.executable, "-c", "pass"],
    "tcpwatch --version": [TCPWATCH, "--version"],
    "tcpwatch --help": [TCPWATCH, "--help"],
    "tcpwatch serve --help": [TCPWATCH, "serve", "--help"],
    "import tcpwatch.lab.scenarios.drivers": [sys.executable, "-c",
                                          "import tcpwatch.lab.scenarios.drivers"],
    "import tcpwatch; tcpwatch.analyze (numpy, pyarrow)": [
        sys.executable, "-c", "import tcpwatch; tcpwatch.analyze"],
    "import pandas (what a DataFrame adds)": [sys.executable, "-c", "import pandas"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=11, help="runs of each command")
    n = ap.parse_args().n
    table = Table(title=f"start-up, median of {n} runs", title_justify="left")
    table.add_column("command")
    table.add_column("wall s", justify="right")
    for name, cmd in COMMANDS.items():
        walls = []
        for _ in range(n):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
            walls.append(time.perf_counter() - t0)
        table.add_row(name, f"{statistics.median(walls):.3f}")
    console().print(table)


if __name__ == "__main__":
    main()
