"""Short, plausible TCP segment sequences between two endpoints, as a pcap in memory.

A hypothesis strategy: each step picks a sender, a flag combination (SYN, SYN+ACK,
ACK, PSH+ACK, FIN+ACK, RST, RST+ACK, FIN, bare), a sequence number near the sender's
next one (in order, one byte back, a retransmission, a gap), an ack near the peer's
next one, a window (0 included), a length of 0, 1 or N, sometimes a window-scale or
SACK option, and a time step (0 µs to 30 ms, around the 3 ms and 20 ms thresholds the
analysis uses).  Two client ports, and SYNs with a fresh ISN, give several connections
and reused ports.  The packets are Ethernet/IPv4/TCP, written as a classic pcap.
"""

from __future__ import annotations

import io
import struct

from hypothesis import strategies as st

A, B = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
SERVER_PORT = 80
CLIENT_PORTS = (40000, 40001)
FLAG_COMBOS = (0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x00)
FLAG_WEIGHTS = (2, 2, 6, 6, 2, 1, 1, 1, 1)
WINDOWS = (0, 1, 100, 512, 65535)
TIME_STEPS_US = (0, 1, 500, 2_500, 4_000, 15_000, 30_000)
MASK = 0xFFFFFFFF


def tcp_packet(src: bytes, sport: int, dst: bytes, dport: int, seq: int, ack: int,
               flags: int, win: int, length: int, options: bytes) -> bytes:
    options += b"\x01" * (-len(options) % 4)
    tcp = struct.pack("!HHIIHHHH", sport, dport, seq & MASK, ack & MASK,
                      ((20 + len(options)) // 4) << 12 | flags, win, 0, 0) + options
    payload = bytes(length)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + length, 0, 0, 64, 6, 0,
                     src, dst)
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


def pcap_bytes(packets: list[tuple[int, bytes]]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for ts_us, data in packets:
        out.append(struct.pack("<IIII", 1_700_000_000 + ts_us // 1_000_000,
                               ts_us % 1_000_000, len(data), len(data)) + data)
    return b"".join(out)


def pick(draw, options: tuple) -> object:
    return options[draw(st.integers(0, len(options) - 1))]


@st.composite
def captures(draw, max_steps: int = 24) -> bytes:
    """One pcap's bytes."""
    isn = {0: draw(st.sampled_from((0, 1000, MASK - 40))), 1: draw(st.integers(0, MASK))}
    nxt = dict(isn)  # next sequence number per side (0 client, 1 server)
    port = CLIENT_PORTS[0]
    ts = 0
    packets = []
    for _ in range(draw(st.integers(1, max_steps))):
        side = draw(st.integers(0, 1))
        flags = draw(st.sampled_from(
            [f for f, w in zip(FLAG_COMBOS, FLAG_WEIGHTS, strict=True) for _ in range(w)]))
        if draw(st.integers(0, 9)) == 0:
            port = pick(draw, CLIENT_PORTS)
        length = pick(draw, (0, 0, 1, draw(st.integers(2, 100))))
        if flags & 0x02:
            if draw(st.booleans()):  # a fresh ISN: a new connection, or a re-base
                nxt[side] = isn[side] = draw(st.integers(0, MASK))
            seq = isn[side]
            length = 0
        else:
            seq = (nxt[side] + pick(draw, (0, 0, 0, -1, -length, -100, 1, 50))) & MASK
        ack = (nxt[1 - side] + pick(draw, (0, 0, 0, -1, 1, -50, 200))) & MASK
        if draw(st.integers(0, 11)) == 0:  # anywhere: far from every unacked segment
            ack = draw(st.sampled_from((ack ^ 0x80000000, draw(st.integers(0, MASK)))))
        options = b""
        if flags & 0x02 and draw(st.booleans()):
            options += bytes([3, 3, draw(st.integers(0, 15))])
        if flags & 0x10 and draw(st.integers(0, 5)) == 0:
            left = (nxt[1 - side] + draw(st.integers(1, 300))) & MASK
            options += b"\x01\x01" + struct.pack("!BBII", 5, 10, left,
                                                 (left + draw(st.integers(1, 200))) & MASK)
        win = pick(draw, WINDOWS)
        src, dst = (A, B) if side == 0 else (B, A)
        sport, dport = (port, SERVER_PORT) if side == 0 else (SERVER_PORT, port)
        ts += pick(draw, TIME_STEPS_US)
        packets.append((ts, tcp_packet(src, sport, dst, dport, seq, ack, flags, win,
                                       length, options)))
        end = (seq + length + (1 if flags & 0x03 else 0)) & MASK
        if (end - nxt[side]) & MASK < 0x80000000:
            nxt[side] = end
    return pcap_bytes(packets)


def as_stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
