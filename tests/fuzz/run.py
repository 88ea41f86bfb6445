"""Long fuzzing runs: ``scripts/fuzz --minutes M [--seed N]``.

Rounds of the same structure-aware fuzzing as the CI slice (test_fuzz_captures.py), each
with a new random seed, until the time is up; every 20th input also goes through the CLI
(``tcpwatch analyze``).  Failing inputs, shrunk by hypothesis, are saved under
``.fuzz-crashes/`` (the last file saved for a finding is the minimal one); copy them into
tests/fuzz/corpus/ to make them regression tests.  Prints the figures at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from .mutate import fuzzed_capture
from .oracle import Finding, check_cli
from .test_fuzz_captures import CHUNKS, CRASHES, run_one

ROUND = 500  # examples per hypothesis run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=None, help="first round's seed (default: random)")
    args = ap.parse_args(argv)
    first = args.seed if args.seed is not None else random.randrange(2**32)
    stop = time.monotonic() + 60 * args.minutes
    tried = cli_runs = rounds = 0
    outcomes: dict[str, int] = {}
    findings: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="tcpwatch-fuzz-"))

    for r in range(10**9):
        if time.monotonic() >= stop:
            break
        rounds += 1

        @seed(first + r)
        @settings(max_examples=ROUND, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(fuzzed_capture(), st.sampled_from(CHUNKS))
        def one(case, chunk):
            nonlocal tried, cli_runs
            if time.monotonic() >= stop:
                return
            tried += 1
            out = run_one(case, chunk)
            kind = "warning" if out.kind == "ok" and out.message else out.kind
            outcomes[kind] = outcomes.get(kind, 0) + 1
            if tried % 20 == 0:
                path = tmp / "input.pcap"
                path.write_bytes(case[0])
                code, _ = check_cli(path)
                cli_runs += 1
                outcomes[f"cli exit {code}"] = outcomes.get(f"cli exit {code}", 0) + 1

        try:
            one()
        except Finding as exc:
            text = str(exc).strip().splitlines()
            findings.append(f"seed {first + r}: {text[0][:300]}")
            print(f"FINDING (seed {first + r}): {text[0][:300]}", file=sys.stderr, flush=True)
        print(f"round {rounds} seed {first + r}: {tried} inputs so far, "
              f"{len(findings)} findings", file=sys.stderr, flush=True)

    print(f"fuzz: {args.minutes:g} min, seeds {first}..{first + rounds - 1}, {tried} inputs "
          f"({cli_runs} also through the CLI); outcomes {outcomes}, {len(findings)} findings")
    for f in findings:
        print("  " + f)
    print(f"crashing inputs (if any): {CRASHES}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
