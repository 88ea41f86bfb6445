"""The CI slice of the differential fuzzer: ``scripts/difftest`` itself, on fixed seeds
whose plans together play every behaviour (mix.BEHAVIOURS), must find no disagreement
with tshark, no live/offline difference and no traceback."""

from __future__ import annotations

import subprocess

import pytest

from tcpwatch.lab.difftest.mix import BEHAVIOURS, plan

from ..conftest import REPO, needs_root, needs_tshark

#: short-profile seeds whose plans cover every behaviour (test_the_slice_covers...)
SEEDS = (45, 78, 9)


def test_the_slice_covers_every_behaviour():
    assert set().union(*(plan(s, "short").behaviours() for s in SEEDS)) == set(BEHAVIOURS)


@needs_root
@needs_tshark
@pytest.mark.netns
@pytest.mark.parametrize("seed", SEEDS)
def test_difftest_finds_nothing(seed, tmp_path):
    res = subprocess.run(
        [str(REPO / "scripts" / "difftest"), "--seed", str(seed), "--runs", "1",
         "--profile", "short", "--regress", str(tmp_path / "regress")],
        capture_output=True, text=True, timeout=110)
    summary = res.stdout.strip().splitlines()[-1]
    p = plan(seed, "short")
    assert res.returncode == 0, f"{summary}\n{res.stderr[-3000:]}"
    assert summary.startswith(f"difftest: seeds {seed} (1 runs,")
    assert summary.endswith(" 0 failing captures")
    segments = int(summary.split(" connections, ")[1].split(" segments")[0].replace(",", ""))
    assert segments > 10 * len(p.conns) // 2  # the capture holds the plan's traffic
    assert not (tmp_path / "regress").exists()
