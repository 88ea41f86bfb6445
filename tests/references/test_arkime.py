"""Arkime's session records for its test captures (captures/public/arkime/*.test.json,
written by Arkime's maintainers): per TCP session, the source (== our client) and
destination endpoints, packets per direction, payload bytes per direction (client.bytes /
server.bytes == the sum of our len), first/last packet (ms), and the tcpflags counters.

Arkime keeps one session per 5-tuple: where a port is reused, the connections tcpwatch
(and Wireshark) split are one Arkime session, so ours are summed per 5-tuple first.
Not compared: source/destination.bytes (whole frame lengths; tcpwatch has no frame-length
column)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.vocab import Col, TcpFlag

from ..conftest import PUBLIC

SESSIONS = sorted((PUBLIC / "arkime").glob("*.expected.test.json"))
F = TcpFlag


def tcp_sessions(path) -> list[dict]:
    return [s["body"] for s in json.loads(path.read_text())["sessions3"]
            if s["body"]["ipProtocol"] == 6]


def arkime_counters(seg: pd.DataFrame) -> dict[str, int]:
    """Arkime's tcpflags counters from our flags: syn = SYN without ACK, syn-ack = SYN with
    ACK, ack = ACK with none of SYN/FIN/RST/PSH, the others one per segment carrying the bit;
    srcZero/dstZero = zero windows advertised by the source/destination (not on an RST)."""
    f = seg[Col.FLAGS]

    def has(bit):
        return (f & int(bit)) != 0

    zero = (seg[Col.WIN_RAW] == 0) & ~has(F.RST)
    client = seg[Col.ROLE] == "client"
    return {
        "syn": int((has(F.SYN) & ~has(F.ACK)).sum()),
        "syn-ack": int((has(F.SYN) & has(F.ACK)).sum()),
        "ack": int((has(F.ACK) & ~has(F.SYN | F.FIN | F.RST | F.PSH)).sum()),
        "psh": int(has(F.PSH).sum()), "fin": int(has(F.FIN).sum()), "rst": int(has(F.RST).sum()),
        "urg": int(has(F.URG).sum()), "ece": int(has(F.ECE).sum()), "cwr": int(has(F.CWR).sum()),
        "ae": int(has(F.AE).sum()),
        "srcZero": int((zero & client).sum()), "dstZero": int((zero & ~client).sum()),
    }


def _by_tuple(seg: pd.DataFrame) -> dict[frozenset, pd.DataFrame]:
    ends = list(zip(zip(seg[Col.SRC].astype(str), seg[Col.SPORT], strict=True),
                    zip(seg[Col.DST].astype(str), seg[Col.DPORT], strict=True), strict=True))
    key = pd.Series([frozenset(e) for e in ends], index=seg.index)
    return {k: seg[key == k] for k in key.unique()}


@pytest.mark.parametrize("path", SESSIONS, ids=lambda p: p.name)
def test_arkime_sessions(path):
    want = tcp_sessions(path)
    pcap = path.with_name(path.name.replace(".expected.test.json", ".pcap"))
    ours = _by_tuple(tcpwatch.analyze(pcap))
    assert len(ours) == len(want)
    for s in want:
        src = (s["source"]["ip"], s["source"]["port"])
        dst = (s["destination"]["ip"], s["destination"]["port"])
        g = ours[frozenset((src, dst))]
        client = g[g[Col.ROLE] == "client"]
        assert (str(client[Col.SRC].iloc[0]), int(client[Col.SPORT].iloc[0])) == src
        server = g[g[Col.ROLE] == "server"]
        got = {"packets": (len(client), len(server)),
               "bytes": (int(client[Col.LEN].sum()), int(server[Col.LEN].sum())),
               "ms": (int(g[Col.TS_NS].min() // 1_000_000), int(g[Col.TS_NS].max() // 1_000_000)),
               "tcpflags": arkime_counters(g)}
        expected = {"packets": (s["source"]["packets"], s["destination"]["packets"]),
                    "bytes": (s["client"]["bytes"], s["server"]["bytes"]),
                    "ms": (s["firstPacket"], s["lastPacket"]), "tcpflags": s["tcpflags"]}
        assert got == expected, f"session {src} -> {dst}"


def test_every_arkime_expectation_is_there():
    assert len(SESSIONS) >= 4
    assert sum(len(tcp_sessions(p)) for p in SESSIONS) >= 18
