"""Structure-aware mutations of real captures, as hypothesis strategies.

A seed is a real capture (captures/*.pcap, captures/public/**) read into packets
(link type, timestamp, original length, bytes).  A fuzzed input is one seed's first
packets, changed where parsers go wrong, and written back as pcap or pcapng:

- in the packets: IPv4 IHL, total length, protocol, fragment fields; IPv6 payload
  length and next header; TCP data offset, flags, option kinds and lengths; captured
  bytes cut short (a smaller snaplen), random bytes;
- in the container: record captured/original lengths, block total lengths (leading or
  trailing copy), block types, interface ids, link types (pcap header, IDB), if_tsresol,
  SHB byte-order magic, a second section, SPB/OPB blocks;
- the file cut at any byte.

Values come from small sets of boundary cases (0, 1, the header size, 2^16-1, 2^31,
2^32-1, ...) as well as from the full range.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from tcpwatch.capture.pcapfile import CaptureReader

REPO = Path(__file__).resolve().parents[2]
MAX_PACKETS = 24  # packets kept from each seed: small inputs, many of them

#: link types the reader knows, plus a few it does not
LINKTYPES = (0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 147, 239, 0xFFFF)
#: boundary values for 32-bit length fields
U32_EDGES = (0, 1, 3, 4, 11, 12, 15, 16, 17, 31, 32, 33, 40, 60, 1500, 65535, 65536,
             262143, 262144, 262145, 16 * 1024 * 1024, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFC,
             0xFFFFFFFF)
U16_EDGES = (0, 1, 2, 4, 5, 19, 20, 21, 39, 40, 41, 60, 0x7FFF, 0x8000, 0xFFFF)
U8_EDGES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 16, 40, 41, 0x7F, 0x80, 0xFF)


def seed_paths() -> list[Path]:
    found = sorted([*REPO.glob("captures/*.pcap"), *REPO.glob("captures/*.pcapng"),
                    *(p for p in (REPO / "captures" / "public").rglob("*")
                      if p.suffix in (".pcap", ".pcapng"))])
    if not found:
        raise FileNotFoundError("no seed captures under captures/: the clone is incomplete")
    return found


@dataclass
class Packet:
    linktype: int
    ts_ns: int
    origlen: int
    data: bytearray


@dataclass
class Seed:
    name: str
    packets: list[Packet]


@cache
def seeds() -> tuple[Seed, ...]:
    """Every seed capture's first MAX_PACKETS packets (read with tcpwatch's own reader)."""
    out = []
    for path in seed_paths():
        packets: list[Packet] = []
        for raw in CaptureReader(path):
            for i in range(len(raw)):
                off, cap = int(raw.off[i]), int(raw.caplen[i])
                packets.append(Packet(int(raw.linktype[i]), max(int(raw.ts_ns[i]), 0),
                                      int(raw.origlen[i]), bytearray(raw.buf[off:off + cap])))
                if len(packets) >= MAX_PACKETS:
                    break
            if len(packets) >= MAX_PACKETS:
                break
        out.append(Seed(str(path.relative_to(REPO)), packets))
    return tuple(out)


# -- where IP and TCP start in a packet -------------------------------------------------
_L2 = {1: 14, 113: 16, 276: 20, 0: 4, 108: 4, 12: 0, 14: 0, 101: 0, 228: 0, 229: 0}


def l3_offset(p: Packet) -> int | None:
    off = _L2.get(p.linktype)
    if off is None:
        return None
    if p.linktype == 1:
        while off + 4 <= len(p.data) and p.data[off - 2:off] in (b"\x81\x00", b"\x88\xa8"):
            off += 4
    return off if off < len(p.data) else None


def l4_offset(p: Packet) -> tuple[int, int] | None:
    """(IP header offset, TCP header offset) when the packet holds IP then TCP."""
    l3 = l3_offset(p)
    if l3 is None:
        return None
    version = p.data[l3] >> 4
    if version == 4:
        return l3, l3 + 4 * (p.data[l3] & 15)
    if version == 6:
        return l3, l3 + 40
    return None


# -- the mutations ------------------------------------------------------------------------
@dataclass
class Container:
    """How the packets are written back, and the container fields to corrupt."""

    fmt: str = "pcap"  # pcap | pcapng
    big: bool = False
    nano: bool = False
    linktype: int | None = None  # pcap header / IDB link type (None: the seed's)
    kinds: tuple[str, ...] = ("epb",)  # pcapng packet blocks, cycled
    tsresol: int = 6
    second_section_at: int | None = None  # pcapng: a new SHB (other byte order) here
    record: dict[int, dict[str, int]] = field(default_factory=dict)  # index -> field: value
    cut: int | None = None  # the file ends here


def _set(buf: bytearray, at: int, fmt: str, value: int) -> None:
    if at >= 0 and at + struct.calcsize(fmt) <= len(buf):
        struct.pack_into(fmt, buf, at, value & ((1 << (8 * struct.calcsize(fmt))) - 1))


def packet_mutation(draw, p: Packet) -> str:
    """Change one field of a packet's IP or TCP header (or its bytes); describe it."""
    where = l4_offset(p)
    what = draw(st.sampled_from(("ihl", "ip_len", "proto", "frag", "data_off", "tcp_flags",
                                 "option", "snap", "bytes", "version")))
    if where is None or what in ("bytes", "snap"):
        if what == "snap" or not p.data:
            keep = draw(st.integers(0, len(p.data)))
            del p.data[keep:]
            return f"caplen {keep}"
        at = draw(st.integers(0, len(p.data) - 1))
        p.data[at] = draw(st.integers(0, 255))
        return f"byte {at}"
    ip, tcp = where
    v6 = p.data[ip] >> 4 == 6
    value16 = draw(st.one_of(st.sampled_from(U16_EDGES), st.integers(0, 0xFFFF)))
    value8 = draw(st.one_of(st.sampled_from(U8_EDGES), st.integers(0, 0xFF)))
    if what == "version":
        p.data[ip] = (p.data[ip] & 15) | (value8 & 0xF0)
    elif what == "ihl" and not v6:
        p.data[ip] = (p.data[ip] & 0xF0) | (value8 & 15)
    elif what == "ip_len":
        _set(p.data, ip + (4 if v6 else 2), ">H", value16)
    elif what == "proto":
        p.data[ip + (6 if v6 else 9):ip + (7 if v6 else 10)] = bytes([value8 if value8 != 6
                                                                      else 17])[:1]
    elif what == "frag" and not v6:
        _set(p.data, ip + 6, ">H", value16)
    elif what == "data_off":
        if tcp + 12 < len(p.data):
            p.data[tcp + 12] = (value8 & 0xF0) | (p.data[tcp + 12] & 15)
    elif what == "tcp_flags":
        _set(p.data, tcp + 13, ">B", value8)
    elif what == "option":
        # an option kind or length byte somewhere in the options area (or just past it)
        at = tcp + 20 + draw(st.integers(0, 44))
        if at < len(p.data):
            p.data[at] = draw(st.sampled_from((0, 1, 2, 3, 4, 5, 8, 30, 34, 254, 255)))
            if at + 1 < len(p.data):
                p.data[at + 1] = value8
    return f"{what}={value16 if 'len' in what or what == 'frag' else value8}"


RECORD_FIELDS = ("caplen", "origlen", "block_len", "block_len_trailer", "block_type",
                 "iface", "ts_hi")


@st.composite
def fuzzed_capture(draw) -> tuple[bytes, str]:
    """(file bytes, a description of what was changed)."""
    seed = draw(st.sampled_from(seeds()))
    packets = [Packet(p.linktype, p.ts_ns, p.origlen, bytearray(p.data))
               for p in seed.packets[:draw(st.integers(0, MAX_PACKETS))]]
    notes = [seed.name]
    for _ in range(draw(st.integers(0, 4)) if packets else 0):
        i = draw(st.integers(0, len(packets) - 1))
        notes.append(f"pkt{i}:{packet_mutation(draw, packets[i])}")
    c = Container(fmt=draw(st.sampled_from(("pcap", "pcapng"))), big=draw(st.booleans()),
                  nano=draw(st.booleans()))
    if draw(st.integers(0, 3)) == 0:
        c.linktype = draw(st.sampled_from(LINKTYPES))
        notes.append(f"linktype={c.linktype}")
    if c.fmt == "pcapng":
        c.kinds = tuple(draw(st.lists(st.sampled_from(("epb", "spb", "opb", "other")),
                                      min_size=1, max_size=3)))
        c.tsresol = draw(st.sampled_from((6, 9, 0, 0x80 | 10, 0x7F, 0xFF, 19)))
        if packets and draw(st.integers(0, 4)) == 0:
            c.second_section_at = draw(st.integers(0, len(packets)))
        notes.append(f"pcapng {c.kinds} tsresol={c.tsresol} section@{c.second_section_at}")
    for _ in range(draw(st.integers(0, 2)) if packets else 0):
        i = draw(st.integers(0, len(packets) - 1))
        name = draw(st.sampled_from(RECORD_FIELDS))
        value = draw(st.one_of(st.sampled_from(U32_EDGES), st.integers(0, 0xFFFFFFFF)))
        c.record.setdefault(i, {})[name] = value
        notes.append(f"rec{i}.{name}={value}")
    data = write(packets, c)
    if draw(st.integers(0, 3)) == 0:
        c.cut = draw(st.integers(0, len(data)))
        data = data[:c.cut]
        notes.append(f"cut@{c.cut}")
    return data, " ".join(notes)


# -- writing ------------------------------------------------------------------------------
def write(packets: list[Packet], c: Container) -> bytes:
    linktype = c.linktype if c.linktype is not None else (
        packets[0].linktype if packets else 1)
    return _pcap(packets, c, linktype) if c.fmt == "pcap" else _pcapng(packets, c, linktype)


def _pcap(packets: list[Packet], c: Container, linktype: int) -> bytes:
    e = ">" if c.big else "<"
    magic = 0xA1B23C4D if c.nano else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    for i, p in enumerate(packets):
        sec, ns = divmod(p.ts_ns, 1_000_000_000)
        f = c.record.get(i, {})
        hdr = [sec & 0xFFFFFFFF, ns if c.nano else ns // 1000, len(p.data), p.origlen]
        hdr[2] = f.get("caplen", hdr[2])
        hdr[3] = f.get("origlen", hdr[3])
        hdr[0] = f.get("ts_hi", hdr[0])
        out.append(struct.pack(e + "IIII", *(v & 0xFFFFFFFF for v in hdr)) + bytes(p.data))
    return b"".join(out)


def _block(e: str, btype: int, body: bytes, f: dict[str, int] | None = None) -> bytes:
    f = f or {}
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    lead = f.get("block_len", n)
    trail = f.get("block_len_trailer", lead)
    return (struct.pack(e + "II", f.get("block_type", btype) & 0xFFFFFFFF, lead & 0xFFFFFFFF)
            + body + struct.pack(e + "I", trail & 0xFFFFFFFF))


def _section(e: str, linktype: int, tsresol: int) -> bytes:
    shb = _block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opt = struct.pack(e + "HHB3x", 9, 1, tsresol) + struct.pack(e + "HH", 0, 0)
    return shb + _block(e, 1, struct.pack(e + "HHI", linktype, 0, 262144) + opt)


def _pcapng(packets: list[Packet], c: Container, linktype: int) -> bytes:
    e = ">" if c.big else "<"
    out = [_section(e, linktype, c.tsresol)]
    per_sec = 10 ** c.tsresol if c.tsresol < 20 else (
        2 ** (c.tsresol & 0x7F) if c.tsresol & 0x80 else 10**6)
    for i, p in enumerate(packets):
        if i == c.second_section_at:
            e = "<" if c.big else ">"
            out.append(_section(e, linktype, 6))
            per_sec = 10**6
        f = c.record.get(i, {})
        units = p.ts_ns * per_sec // 1_000_000_000 if per_sec < 2**64 else 0
        units &= 0xFFFFFFFFFFFFFFFF
        caplen = f.get("caplen", len(p.data))
        kind = c.kinds[i % len(c.kinds)]
        iface = f.get("iface", 0)
        if kind == "epb":
            body = struct.pack(e + "IIIII", iface & 0xFFFFFFFF, units >> 32, units & 0xFFFFFFFF,
                               caplen & 0xFFFFFFFF, f.get("origlen", p.origlen) & 0xFFFFFFFF)
        elif kind == "opb":
            body = struct.pack(e + "HHIIII", iface & 0xFFFF, 0, units >> 32, units & 0xFFFFFFFF,
                               caplen & 0xFFFFFFFF, f.get("origlen", p.origlen) & 0xFFFFFFFF)
        elif kind == "spb":
            body = struct.pack(e + "I", f.get("origlen", p.origlen) & 0xFFFFFFFF)
        else:  # a block tcpwatch skips (Name Resolution Block, type 4), then the packet
            out.append(_block(e, 4, struct.pack(e + "HH", 0, 0)))
            body = struct.pack(e + "IIIII", iface & 0xFFFFFFFF, units >> 32, units & 0xFFFFFFFF,
                               caplen & 0xFFFFFFFF, p.origlen & 0xFFFFFFFF)
        btype = {"epb": 6, "opb": 2, "spb": 3}.get(kind, 6)
        out.append(_block(e, btype, body + bytes(p.data), f))
    return b"".join(out)
