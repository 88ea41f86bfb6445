"""Every capture on which the differential fuzzer once failed (captures/regress/, cut to
the connections that showed it) is replayed: tcpwatch equals ``tshark -2`` on every
compared column and flag, the live session equals offline analysis, and neither raises.
A capture whose defect is known and not fixed on this branch is a strict xfail: the day
it passes, the mark must go."""

from __future__ import annotations

import re

import pytest

from tcpwatch.lab.difftest.compare import check
from tcpwatch.lab.difftest.shrink import describe

from ..conftest import REPO, needs_tshark

REGRESS = REPO / "captures" / "regress"

#: capture -> why it still fails (and what fixes it)
KNOWN: dict[str, str] = {}  # none: seeds 35, 109 and 113 pass since the tunnels merge


def _captures() -> list:
    return [pytest.param(p, id=p.name, marks=[pytest.mark.xfail(strict=True,
                                                                reason=KNOWN[p.name])]
                         if p.name in KNOWN else [])
            for p in sorted(REGRESS.glob("*.pcap"))]


def _seed(name: str) -> int:
    m = re.match(r"seed(\d+)-", name)
    assert m, f"{name}: regression captures are named seed<N>-<what>.pcap"
    return int(m[1])


@needs_tshark
@pytest.mark.parametrize("path", _captures())
def test_regression_capture_agrees(path):
    found = check(path, _seed(path.name))
    assert found.segments > 0
    assert found.ok, describe(found, show=10)


def test_every_regression_capture_has_its_readme_line():
    readme = (REGRESS / "README.md").read_text()
    names = {p.name for p in REGRESS.glob("*.pcap")}
    assert names, "captures/regress/ holds no capture"
    for name in names:
        assert f"| `{name}` | {_seed(name)} (" in readme, name
    assert set(KNOWN) <= names  # no stale entry
