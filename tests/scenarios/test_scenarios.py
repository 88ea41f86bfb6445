"""Every scenario's capture really contains the behaviour it is named for, as tshark sees
it -- on the committed captures/ and on captures recorded afresh by this test run."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tcpwatch.lab.scenarios.registry import SCENARIOS, port_of
from tcpwatch.report.verify import tshark_fields

from ..conftest import REPO, needs_root, needs_tshark

CAPTURES = REPO / "captures"
FIELDS = ["tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.ack",
          "tcp.len", "frame.time_relative", "ipv6.src", "tcp.analysis.zero_window",
          "tcp.analysis.window_update", "tcp.analysis.window_full",
          "tcp.analysis.retransmission", "tcp.analysis.duplicate_ack",
          "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack",
          "tcp.analysis.reused_ports", "tcp.options.sack_le", "tcp.analysis.zero_window_probe",
          "tcp.analysis.zero_window_probe_ack", "tcp.window_size_value",
          "tcp.analysis.spurious_retransmission", "tcp.analysis.lost_segment",
          "tcp.analysis.out_of_order"]
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04


def frames(path) -> pd.DataFrame:
    f = tshark_fields(path, FIELDS)
    for c in ("frame.number", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.ack",
              "tcp.len"):
        f[c] = f[c].astype(int)
    f["flags"] = f["tcp.flags"].map(lambda x: int(x, 16))
    f["t"] = f["frame.time_relative"].astype(float)
    return f


def has(f, field):
    return f[field] != ""


def fins(f):
    return f[(f["flags"] & FIN) != 0]


def check_handshake_echo_close(f, port):
    assert [x & (SYN | ACK) for x in f["flags"][:3]] == [SYN, SYN | ACK, ACK]
    first_fin = fins(f).iloc[0]
    assert first_fin["tcp.dstport"] == port  # the client closes first
    assert len(fins(f)) == 2 and not ((f["flags"] & RST) != 0).any()


def check_server_closes_first(f, port):
    assert fins(f).iloc[0]["tcp.srcport"] == port
    assert len(fins(f)) == 2


def check_half_close(f, port):
    client_fin = fins(f)[fins(f)["tcp.dstport"] == port].iloc[0]
    later_server_data = f[(f["frame.number"] > client_fin["frame.number"])
                          & (f["tcp.srcport"] == port) & (f["tcp.len"] > 0)]
    assert len(later_server_data) > 0  # the server kept sending after the client's FIN
    assert fins(f).iloc[-1]["tcp.srcport"] == port


def check_simultaneous_close(f, port):
    a, b = fins(f).iloc[0], fins(f).iloc[1]
    assert a["tcp.srcport"] != b["tcp.srcport"]
    # neither FIN acknowledges the other: each was sent before the other arrived
    assert b["tcp.ack"] <= a["tcp.seq"]
    assert a["tcp.ack"] <= b["tcp.seq"]


def check_rst_abort(f, port):
    client = f[f["tcp.dstport"] == port]
    assert client.iloc[-1]["flags"] & RST
    assert not (client["flags"] & FIN).any()


def check_connection_refused(f, port):
    assert list(f["flags"]) == [SYN, RST | ACK]


def check_syn_timeout(f, port):
    assert (f["flags"] == SYN).all() and len(f) >= 3
    assert has(f, "tcp.analysis.retransmission")[1:].all()
    assert f["t"].iloc[-1] > 1.9  # retransmitted over seconds


def check_zero_window(f, port):
    zw = f[has(f, "tcp.analysis.zero_window")]
    assert len(zw) > 0
    assert (has(f, "tcp.analysis.window_update")
            & (f["frame.number"] > zw["frame.number"].iloc[0])).any()


def check_window_full(f, port):
    assert has(f, "tcp.analysis.window_full").sum() > 3


def check_lossy_bulk(f, port):
    assert has(f, "tcp.analysis.retransmission").any()
    assert has(f, "tcp.analysis.duplicate_ack").any()
    assert has(f, "tcp.options.sack_le").any()


def check_keepalive(f, port):
    assert has(f, "tcp.analysis.keep_alive").sum() >= 3
    assert has(f, "tcp.analysis.keep_alive_ack").sum() >= 3


def check_port_reuse(f, port):
    syns = f[f["flags"] == SYN]
    assert len(syns) == 2 and syns["tcp.srcport"].nunique() == 1
    assert syns["tcp.stream"].tolist() == [0, 1]
    assert has(syns, "tcp.analysis.reused_ports").iloc[1]


def check_many_short(f, port):
    syns = f[f["flags"] == SYN]
    assert (syns["tcp.dstport"] == port).sum() == 200
    assert (syns["tcp.dstport"] == port + 1).sum() == 200
    assert f["tcp.stream"].nunique() == 400
    assert len(fins(f)) == 800


def check_ipv6_echo(f, port):
    assert has(f, "ipv6.src").all()
    check_handshake_echo_close(f, port)


def check_echo_both_close(f, port):
    assert f["tcp.stream"].nunique() == 200
    first_fins, crossed = [], 0
    for _, g in fins(f).groupby("tcp.stream"):
        assert len(g) == 2
        a, b = g.iloc[0], g.iloc[1]
        first_fins.append("server" if a["tcp.srcport"] == port else "client")
        crossed += b["tcp.ack"] < a["tcp.seq"] + a["tcp.len"] + 1  # b does not ack a's FIN
    # Who closes first, and whether the FINs cross, is up to the scheduler: a loaded machine
    # gave 0 crossings in one recording and 129 in the next.  The committed capture holds
    # both orders and crossings (tests/live/test_echo_both_close.py pins that).
    assert set(first_fins) <= {"client", "server"} and crossed >= 0


def check_spurious_retransmission(f, port):
    spurious = f[has(f, "tcp.analysis.spurious_retransmission")]
    assert len(spurious) >= 5 and (spurious["tcp.dstport"] == port).all()
    assert f["tcp.stream"].nunique() == 3 and len(fins(f)) == 6
    for _, r in spurious.iterrows():  # every byte was ACKed on the wire before it
        acks = f[(f["frame.number"] < r["frame.number"]) & (f["tcp.srcport"] == port)
                 & (f["tcp.stream"] == r["tcp.stream"])]
        assert acks["tcp.ack"].max() >= r["tcp.seq"] + r["tcp.len"]


def check_upstream_loss(f, port):
    lost = f[has(f, "tcp.analysis.lost_segment")]
    ooo = f[has(f, "tcp.analysis.out_of_order")]
    assert len(lost) >= 5 and len(ooo) >= 5
    assert (lost["tcp.dstport"] == port).all() and (ooo["tcp.dstport"] == port).all()
    assert f["t"].iloc[2] - f["t"].iloc[1] > 0.19  # the relay's 2 x 100 ms round trip


def check_zero_window_probe(f, port):
    probes = f[has(f, "tcp.analysis.zero_window_probe")]
    acks = f[has(f, "tcp.analysis.zero_window_probe_ack")]
    assert len(probes) >= 5 and len(acks) >= 5
    assert (probes["tcp.len"] == 1).all() and (probes["tcp.dstport"] == port).all()
    assert (acks["tcp.srcport"] == port).all() and (acks["tcp.window_size_value"] == "0").all()
    gaps = probes["t"].diff().dropna().to_numpy()
    assert (gaps[1:] > gaps[:-1] * 1.5).sum() >= 2  # the probe timer backs off
    later = f[f["frame.number"] > acks["frame.number"].max()]
    assert has(later, "tcp.analysis.window_update").any()
    assert (later[later["tcp.dstport"] == port]["tcp.len"] > 1).any()  # data flows again
    assert len(fins(f)) == 2


def check_backpressure(f, port):
    to_server, from_server = f[f["tcp.dstport"] == port], f[f["tcp.srcport"] == port]
    assert has(from_server, "tcp.analysis.zero_window").any()  # the server's window closed
    probes = to_server[has(to_server, "tcp.analysis.keep_alive")]
    assert len(probes) >= 2  # the client's kernel probed it
    reopened = from_server[has(from_server, "tcp.analysis.window_update")
                           & (from_server["frame.number"] > probes["frame.number"].max())]
    assert len(reopened) > 0  # and the server's window opened again after the stall
    later = to_server[to_server["frame.number"] > reopened["frame.number"].iloc[0]]
    assert (later["tcp.len"] > 0).any()  # the client's data flowed again
    assert len(fins(f)) == 2
    def data_end(g):
        d = g[g["tcp.len"] > 0]
        return (d["tcp.seq"] + d["tcp.len"]).max()

    assert data_end(to_server) == data_end(from_server)  # every byte sent came back


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items()
          if name.startswith("check_")}


def test_every_scenario_has_a_check():
    assert set(CHECKS) == set(SCENARIOS)


@needs_tshark
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_committed_capture_shows_its_behaviour(name):
    path = CAPTURES / f"{name}.pcap"
    assert path.stat().st_size < 2_000_000
    CHECKS[name](frames(path), port_of(SCENARIOS[name]))


@pytest.fixture(scope="session")
def fresh(tmp_path_factory):
    """Every scenario recorded again, now, on this machine (tcpwatch record --all)."""
    out = tmp_path_factory.mktemp("fresh")
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "record", "--all", "--out",
                          str(out)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stderr
    return out


@needs_root
@needs_tshark
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fresh_recording_shows_its_behaviour(fresh, name):
    CHECKS[name](frames(fresh / f"{name}.pcap"), port_of(SCENARIOS[name]))
    assert (fresh / f"{name}.expected.csv").exists()
    assert f"`{name}.pcap`" in (fresh / "README.md").read_text()


def test_replay_of_committed_captures_passes():
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "replay", str(CAPTURES)],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count(" ok ") >= len(SCENARIOS)


def test_replay_fails_with_a_readable_diff_when_a_golden_file_is_edited(tmp_path):
    for name in ("rst_abort", "keepalive"):
        for suffix in (".pcap", ".expected.csv"):
            shutil.copy(CAPTURES / f"{name}{suffix}", tmp_path)
    golden = tmp_path / "rst_abort.expected.csv"
    lines = golden.read_text().splitlines()
    cells = lines[8].split(",")  # frame 8: the RST
    assert cells[8] == "R."
    cells[8] = "F."  # claim a FIN where the wire has an RST
    lines[8] = ",".join(cells)
    golden.write_text("\n".join(lines) + "\n")
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "replay", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 1
    assert "rst_abort.pcap" in res.stdout and "DRIFT" in res.stdout
    assert "#8 flag_str: 'F.' -> 'R.'" in res.stdout
    assert "keepalive.pcap" in res.stdout and " ok " in res.stdout


@needs_tshark
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_committed_capture_matches_tshark(name):
    """Every column tshark also computes (tcpwatch.report.parity.MAPPED) agrees with it on every
    recorded capture, frame for frame."""
    import tcpwatch
    from tcpwatch.report.parity import compare_with_tshark

    path = CAPTURES / f"{name}.pcap"
    diff = compare_with_tshark(tcpwatch.analyze(path), path)
    assert diff.empty, diff.head(10).to_string()
