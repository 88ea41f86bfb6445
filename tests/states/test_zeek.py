"""conn_state and history equal Zeek's, for every Zeek-produced expectation that comes
with a capture in captures/public/zeek (conn.log files, the rst-behavior lines,
and the endpoint states of fin_retransmission)."""

from __future__ import annotations

import pytest

import tcpwatch
from tcpwatch.report.outcome import zeek_endpoint_states
from tcpwatch.report.summary import summarize_connections

from ..conftest import PUBLIC

ZEEK = PUBLIC / "zeek"


def _conn_log(name: str) -> tuple[str | None, str]:
    lines = [ln for ln in (ZEEK / f"{name}.expected.conn.log").read_text().splitlines()
             if ln and not ln.startswith("#")]
    header = [ln for ln in (ZEEK / f"{name}.expected.conn.log").read_text().splitlines()
              if ln.startswith("#fields")]
    if header:
        names = header[0].split("\t")[1:]
    else:  # a cut log: the first line names the fields
        names, lines = lines[0].split("\t"), lines[1:]
    row = dict(zip(names, lines[0].split("\t"), strict=True))
    return row.get("conn_state"), row["history"]


CONN_LOGS = sorted(p.name.removesuffix(".expected.conn.log")
                   for p in ZEEK.glob("*.expected.conn.log")) if ZEEK.exists() else []


@pytest.mark.parametrize("name", CONN_LOGS)
def test_conn_log(name):
    want_state, want_history = _conn_log(name)
    s = summarize_connections(tcpwatch.analyze(ZEEK / f"{name}.pcap")).iloc[0]
    assert s["history"] == want_history
    if want_state is not None:
        assert s["conn_state"] == want_state


@pytest.mark.parametrize("name, line", [("single-rst", 0), ("syn-then-rst", 1)])
def test_rst_behavior(name, line):
    expected = [ln for ln in (ZEEK / f"{name}.expected.rst-behavior.out").read_text()
                .splitlines() if not ln.startswith("#")][line]
    history, state = (x.strip() for x in expected.split(","))
    s = summarize_connections(tcpwatch.analyze(ZEEK / f"{name}.pcap")).iloc[0]
    assert (s["history"], s["conn_state"]) == (history, state)


def test_fin_retransmission_endpoint_states():
    """Zeek's expected endpoint states: originator 5 (CLOSED), responder 6 (RESET)."""
    orig, resp = zeek_endpoint_states(tcpwatch.analyze(ZEEK / "fin_retransmission.pcap"))
    assert (orig[0], resp[0]) == (5, 6)


def test_every_zeek_expectation_is_covered():
    assert len(CONN_LOGS) >= 4
