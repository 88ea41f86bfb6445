"""Per-flag agreement with tshark on the benchmark capture (too large for pyshark).

    .venv/bin/python scripts/verify_bench.py [CAPTURE]

Runs tshark -2 once for the analysis fields, then compares frame for frame; prints the
same table as ``tcpwatch verify``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tcpwatch
from tcpwatch.report.fit import console
from tcpwatch.report.verify import compare, render, tshark_reference


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path.home() / ".cache" / "tcpwatch" / "bench-2000000.pcap")
    seg = tcpwatch.analyze(path)
    result = compare(seg, tshark_reference(path, engine="fields"))
    console().print(render(result, f"{path.name}: {len(seg):,} TCP segments"))


if __name__ == "__main__":
    main()
