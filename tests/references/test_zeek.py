"""Zeek's own outputs for its test captures (captures/public/zeek, btest baselines written by
Zeek's maintainers), beyond conn_state/history (tests/states/test_zeek.py):

* conn.log: id.orig_h/orig_p == the address and port of our client (role), orig/resp
  packets == our segments per role, orig/resp_bytes == the sequence space each end used
  (Zeek takes them from sequence numbers, not from payload sums: see ``_seq_bytes``),
  duration == first to last segment, except that segments after both ends sent a FIN do
  not count (Zeek stops the clock once both endpoints closed).  Not compared:
  orig/resp_ip_bytes (tcpwatch has no IP-length column).
* options.out: every option of every segment (mss, sack permitted, timestamps, window
  scale) and who sent it (is_orig == role client).
* fin_retransmission.out: per endpoint, num_pkts and size (sequence space);
  miss_end_data.out: the content gap (side, start, length) == our lost_segment.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.vocab import Col, TcpFlag

from ..conftest import PUBLIC

ZEEK = PUBLIC / "zeek"
CONN_LOGS = sorted(ZEEK.glob("*.expected.conn.log"))


def conn_log(path) -> dict[str, str]:
    """The one record of a btest conn.log baseline (``#fields`` header, or a cut log whose
    first line names the fields)."""
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("###")]
    header = [ln for ln in lines if ln.startswith("#fields")]
    rows = [ln for ln in lines if not ln.startswith("#")]
    names = header[0].split("\t")[1:] if header else rows.pop(0).split("\t")
    assert len(rows) == 1, f"{path.name}: one connection expected"
    return dict(zip(names, rows[0].split("\t"), strict=True))


def _seq_bytes(seg: pd.DataFrame) -> int:
    """Sequence space an end used for data: the highest ``rel_seq + len`` of its data or
    FIN segments, minus 1 if its SYN was seen (relative numbers then start at the SYN).
    The FIN's own number is not counted, so a FIN whose data was never captured still
    counts the bytes before it, as Zeek's size does; never below 0 (fin_retransmission's
    FIN reuses its SYN's number)."""
    used = seg[(seg[Col.LEN] > 0) | ((seg[Col.FLAGS] & int(TcpFlag.FIN)) != 0)]
    syn = int(((seg[Col.FLAGS] & int(TcpFlag.SYN)) != 0).any())
    return max(int((used[Col.REL_SEQ] + used[Col.LEN]).max()) - syn, 0) if len(used) else 0


def _zeek_duration(seg: pd.DataFrame) -> float:
    fin = (seg[Col.FLAGS] & int(TcpFlag.FIN)) != 0
    role = seg[Col.ROLE]
    both = (fin & (role == "client")).cummax() & (fin & (role == "server")).cummax()
    counted = seg[~both.shift(1, fill_value=False)]  # the segment completing both FINs counts
    return float(counted[Col.TS_NS].max() - counted[Col.TS_NS].min()) / 1e9


@pytest.mark.parametrize("log", CONN_LOGS, ids=lambda p: p.name)
def test_conn_log_endpoints_packets_bytes_duration(log):
    z = conn_log(log)
    seg = tcpwatch.analyze(log.with_name(log.name.replace(".expected.conn.log", ".pcap")))
    assert seg[Col.CONN].nunique() == 1
    client, server = (seg[seg[Col.ROLE] == r] for r in ("client", "server"))
    first = client.iloc[0]
    assert (str(first[Col.SRC]), str(first[Col.SPORT])) == (z["id.orig_h"], z["id.orig_p"])
    assert (str(first[Col.DST]), str(first[Col.DPORT])) == (z["id.resp_h"], z["id.resp_p"])
    assert (len(client), len(server)) == (int(z["orig_pkts"]), int(z["resp_pkts"]))
    if "orig_bytes" in z:
        assert (_seq_bytes(client), _seq_bytes(server)) == (int(z["orig_bytes"]),
                                                            int(z["resp_bytes"]))
    if "duration" in z:
        assert _zeek_duration(seg) == pytest.approx(float(z["duration"]), abs=1e-6)


def test_every_conn_log_is_there():
    assert len(CONN_LOGS) >= 4


BLOCK = re.compile(r"^\[orig_h=.*\], (?P<orig>[TF])$")
VALUE = re.compile(r"^\s+(mss|window scale|send ts|echo ts): (\d+)$")


def options_out(text: str) -> list[dict[str, object]]:
    """The ``tcp_options`` blocks of options.expected.out: per segment, its sender
    (is_orig) and the options' values, in capture order."""
    blocks: list[dict[str, object]] = []
    for line in text.splitlines():
        if m := BLOCK.match(line):
            blocks.append({"orig": m["orig"] == "T", "sack_perm": False})
        elif blocks and line.strip() == "sack permitted":
            blocks[-1]["sack_perm"] = True
        elif blocks and (m := VALUE.match(line)):
            key = {"mss": "mss", "window scale": "wscale", "send ts": "tsval",
                   "echo ts": "tsecr"}[m.group(1)]
            blocks[-1][key] = int(m.group(2))
    return blocks


def test_options_of_every_segment():
    want = options_out((ZEEK / "options.expected.out").read_text())
    seg = tcpwatch.analyze(ZEEK / "options.pcap")
    assert len(want) == len(seg) == 4
    for w, (_, r) in zip(want, seg.iterrows(), strict=True):
        got = {"orig": r[Col.ROLE] == "client", "sack_perm": bool(r[Col.SACK_PERM])}
        got |= {c: int(r[c]) for c in (Col.MSS, Col.WSCALE, Col.TSVAL, Col.TSECR)
                if pd.notna(r[c])}
        assert got == w, f"frame {r[Col.FRAME]}"


ENDPOINT = re.compile(r"^\[size=(\d+), state=(\d+), num_pkts=(\d+), num_bytes_ip=(\d+)")


def test_fin_retransmission_endpoint_packets_and_size():
    """Zeek's endpoint records (originator, then responder): num_pkts and size.  The
    state numbers (5 CLOSED, 6 RESET) are compared in tests/states/test_zeek.py."""
    ends = [ENDPOINT.match(ln).groups() for ln in
            (ZEEK / "fin_retransmission.expected.out").read_text().splitlines()
            if ENDPOINT.match(ln)]
    seg = tcpwatch.analyze(ZEEK / "fin_retransmission.pcap")
    assert len(ends) == 2
    for (size, _state, pkts, _ip_bytes), role in zip(ends, ("client", "server"), strict=True):
        mine = seg[seg[Col.ROLE] == role]
        assert (len(mine), _seq_bytes(mine)) == (int(pkts), int(size)), role


def test_miss_end_data_content_gap_is_our_lost_segment():
    """content_gap(is_orig=F, seq=1, length=2902): the responder's bytes 1..2902 were never
    captured; our lost_segment is the server's FIN at rel_seq 2903 after its last byte 1."""
    line = (ZEEK / "miss_end_data.expected.out").read_text().splitlines()[-1]
    is_orig, start, length = (x.strip() for x in line.split("]], ")[1].split(","))
    seg = tcpwatch.analyze(ZEEK / "miss_end_data.pcap")
    lost = seg[seg[Col.EVENTS].astype(str).str.contains("lost_segment")
               & ~seg[Col.EVENTS].astype(str).str.contains("ack_lost_segment")]
    assert len(lost) == 1
    r = lost.iloc[0]
    sent_before = seg[(seg[Col.ROLE] == r[Col.ROLE]) & (seg[Col.FRAME] < r[Col.FRAME])]
    expected_next = int((sent_before[Col.REL_SEQ] + sent_before[Col.LEN]
                         + (sent_before[Col.FLAGS] & int(TcpFlag.SYN) != 0)).max())
    assert (r[Col.ROLE] == "client") == (is_orig == "T")
    assert (expected_next, int(r[Col.REL_SEQ]) - expected_next) == (int(start), int(length))
