"""scripts/loadtest with small numbers, on every model: what the README's table claims,
on this machine, now."""

from __future__ import annotations

import json
import subprocess

import pytest

from tcpwatch.lab.servers.models import MODELS

from ..conftest import REPO

SMALL = ["--clients", "8", "--messages", "5", "--slow", "2", "--abrupt", "2", "--burst", "200",
         "--burst-timeout", "30", "--probes", "5", "--flood-idle", "0.3", "--json"]


@pytest.mark.parametrize("model", list(MODELS))
def test_loadtest_small(model):
    res = subprocess.run([str(REPO / "scripts" / "loadtest"), model, *SMALL],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    r = json.loads(res.stdout)
    assert r["echoes_ok"] == r["echoes_total"] == 8 * 5 and r["corrupt"] == 0
    assert (r["burst_answered"], r["burst_lost"], r["burst_corrupt"]) == (200, 0, 0)
    assert r["never_reader_kib"] <= 2 * r["idle_kib"], r
    assert r["never_reader_sent"] < 256 << 20  # the server pushed back
    assert r["half_close_echo_missing"] == 0
    assert r["zombies"] == 0 and r["exit_code"] == 0
    assert r["peak_fds"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"]
