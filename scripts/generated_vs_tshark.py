#!/usr/bin/env python3
"""Hypothesis-generated segment sequences (``tests/reference/generate.captures``) through
tcpwatch and ``tshark -2``: how many examples disagree, by class, and the smallest
capture of each class (for ``tests/reference/cases/``).

    .venv/bin/python scripts/generated_vs_tshark.py --examples 1000 --out /tmp/found

A class is the first disagreeing column of an example; for ``events``, the flags only
tshark sets (``+``) and only tcpwatch sets (``-``).  The examples are derandomized
(the same ones on every run) unless ``--random``.  About 0.5 s per example (one tshark
run each).  Exit 1 when any example disagrees.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tcpwatch.engine.pipeline import analyze
from tcpwatch.lab.difftest.compare import tshark_disagreements
from tests.reference.generate import captures


def classify(column: str, ours: str, theirs: str) -> str:
    if column != "events":
        return column
    a, b = set(filter(None, ours.split(";"))), set(filter(None, theirs.split(";")))
    return "events:" + ",".join(sorted([f"+{x}" for x in b - a] + [f"-{x}" for x in a - b]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--steps", type=int, default=24, help="most segments per example")
    ap.add_argument("--out", type=Path, help="keep the smallest capture of each class here")
    ap.add_argument("--random", action="store_true", help="new examples on every run")
    args = ap.parse_args()
    seen = collections.Counter()
    smallest: dict[str, int] = {}
    total = [0]
    start = time.monotonic()

    @settings(max_examples=args.examples, deadline=None, database=None,
              derandomize=not args.random, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(captures(max_steps=args.steps))
    def run(data: bytes) -> None:
        total[0] += 1
        with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
            f.write(data)
            f.flush()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seg = analyze(f.name)
            diff = tshark_disagreements(seg, f.name)
        if diff.empty:
            return
        first = diff.iloc[0]
        cls = classify(first["column"], str(first["tcpwatch"]), str(first["tshark"]))
        seen[cls] += 1
        if args.out and len(seg) < smallest.get(cls, 1 << 30):
            smallest[cls] = len(seg)
            args.out.mkdir(parents=True, exist_ok=True)
            stem = "".join(c if c.isalnum() or c == "_" else "_" for c in cls)
            (args.out / f"{stem}.pcap").write_bytes(data)
            (args.out / f"{stem}.txt").write_text(diff.to_string() + "\n")

    run()
    print(json.dumps({"examples": total[0], "disagreeing": sum(seen.values()),
                      "seconds": round(time.monotonic() - start),
                      "by_class": dict(seen.most_common())}, indent=1))
    return 1 if seen else 0


if __name__ == "__main__":
    sys.exit(main())
