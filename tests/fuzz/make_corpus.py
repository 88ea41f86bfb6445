"""Write tests/fuzz/corpus/: small hostile captures, each made from the first packets of
a real capture with one thing broken (``python -m tests.fuzz.make_corpus``).  The first
two are what the fuzzer found; the rest are the classic traps of capture parsers.
Expected outcomes are in test_corpus.py."""

from __future__ import annotations

import struct
from pathlib import Path

from .mutate import Container, Packet, l4_offset, seeds, write

CORPUS = Path(__file__).resolve().parent / "corpus"


def _packets(name: str, n: int) -> list[Packet]:
    seed = next(s for s in seeds() if s.name.endswith(name))
    return [Packet(p.linktype, p.ts_ns, p.origlen, bytearray(p.data)) for p in seed.packets[:n]]


def _tcp(p: Packet) -> tuple[int, int]:
    where = l4_offset(p)
    assert where is not None
    return where


def corpus() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    pk = _packets("http-get.pcap", 4)
    # found by the fuzzer: if_tsresol 127 (10^127 units per second) overflowed uint64
    out["found-tsresol-127.pcapng"] = write(pk, Container(fmt="pcapng", tsresol=127))
    # found by the fuzzer: a packet naming interface 1 before any second IDB; the error's
    # frame number depended on the read chunk
    out["found-unknown-interface.pcapng"] = write(pk, Container(fmt="pcapng",
                                                                record={2: {"iface": 1}}))
    out["record-length-4g.pcap"] = write(pk, Container(record={1: {"caplen": 0xFFFFFFFF}}))
    out["record-length-4g-bigendian.pcap"] = write(pk, Container(
        big=True, record={0: {"caplen": 0xFFFFFFF0}}))
    out["block-length-4g.pcapng"] = write(pk, Container(fmt="pcapng",
                                                        record={1: {"block_len": 0xFFFFFFFC}}))
    out["block-length-zero.pcapng"] = write(pk, Container(fmt="pcapng",
                                                          record={2: {"block_len": 0}}))
    out["epb-caplen-past-block.pcapng"] = write(pk, Container(fmt="pcapng",
                                                              record={1: {"caplen": 65535}}))
    out["cut-in-record-header.pcap"] = write(pk, Container())[:24 + 16 + 74 + 7]
    bad = _packets("http-get.pcap", 3)
    ip, tcp = _tcp(bad[0])
    bad[0].data[ip] = 0x40  # IPv4 with IHL 0
    ip, tcp = _tcp(bad[1])
    bad[1].data[tcp + 12] = 0x00  # TCP data offset 0
    ip, tcp = _tcp(bad[2])
    bad[2].data[tcp + 12] = 0xF0  # TCP data offset 15 (60 bytes) past the captured bytes
    out["ihl0-doff0-doff15.pcap"] = write(bad, Container())
    opts = _packets("http-get.pcap", 2)  # the SYN and SYN+ACK carry options
    for p, length in zip(opts, (0, 255), strict=True):
        ip, tcp = _tcp(p)
        p.data[tcp + 20] = 2  # MSS with a length of 0 (a parser loop that never advances)
        p.data[tcp + 21] = length
    out["option-length-0-and-255.pcap"] = write(opts, Container())
    lens = _packets("http-get.pcap", 3)
    ip, _ = _tcp(lens[0])
    struct.pack_into(">H", lens[0].data, ip + 2, 0xFFFF)  # total length past the frame
    ip, _ = _tcp(lens[1])
    struct.pack_into(">H", lens[1].data, ip + 2, 0)  # total length 0
    del lens[2].data[ip + 30:]  # cut inside the TCP header
    out["ip-total-length-lies.pcap"] = write(lens, Container())
    v6 = _packets("ipv6_echo.pcap", 3)
    ip, _ = _tcp(v6[0])
    struct.pack_into(">H", v6[0].data, ip + 4, 0)  # IPv6 payload length 0
    v6[1].data[ip + 6] = 0  # next header: hop-by-hop options, holding the TCP header
    out["ipv6-payload-length-0.pcapng"] = write(v6, Container(fmt="pcapng", kinds=("spb",)))
    return out


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, data in corpus().items():
        (CORPUS / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
