"""tcpdump's one-line TCP decode, parsed: what tcpdump itself says each frame holds."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

FRAME = re.compile(r"^\s*(\d+)\s+\S")  # -# numbering at the start of a frame's first line
TCP = re.compile(r"(?P<src>[0-9A-Fa-f.:]+)\.(?P<sport>\d+) > (?P<dst>[0-9A-Fa-f.:]+)\."
                 r"(?P<dport>\d+): (?:Flags \[(?P<flags>[^\]]*)\](?P<rest>.*)|tcp (?P<qlen>\d+))")
FIELDS = {name: re.compile(rf"\b{name} (\d+)") for name in ("ack", "win", "urg", "length")}
SEQ = re.compile(r"\bseq (\d+)(?::(\d+))?")
OPTIONS = re.compile(r"options \[([^\]]*)\]")
SACK = re.compile(r"\{(\d+):(\d+)\}")


def parse_options(text: str) -> dict[str, object]:
    """``mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7,sack 1 {a:b}`` -> values."""
    out: dict[str, object] = {}
    for opt in text.split(","):
        opt = opt.strip()
        if opt.startswith("mss "):
            out["mss"] = int(opt.split()[1])
        elif opt.startswith("wscale "):
            out["wscale"] = int(opt.split()[1])
        elif opt == "sackOK":
            out["sack_perm"] = True
        elif opt.startswith("TS val "):
            _ts, _val, tsval, _ecr, tsecr = opt.split()
            out["tsval"], out["tsecr"] = int(tsval), int(tsecr)
        elif opt.startswith("sack "):
            out["sack"] = [int(x) for pair in SACK.findall(opt) for x in pair]
    return out


def parse(text: str) -> dict[int, dict[str, object]]:
    """Frame number -> what tcpdump printed for its (innermost) TCP header."""
    frames: dict[int, dict[str, object]] = {}
    frame = None
    for line in text.splitlines():
        if m := FRAME.match(line):
            frame = int(m.group(1))
        m = TCP.search(line)
        if m is None or frame is None:
            continue
        row: dict[str, object] = {"src": m["src"], "sport": int(m["sport"]), "dst": m["dst"],
                                  "dport": int(m["dport"])}
        if m["qlen"] is not None:  # -q: addresses, ports and length only
            row["length"] = int(m["qlen"])
        else:
            rest = m["rest"]
            row["flags"] = m["flags"]
            for name, rx in FIELDS.items():
                if f := rx.search(rest):
                    row[name] = int(f.group(1))
            if s := SEQ.search(rest):
                row["seq"] = int(s.group(1))
            opts = OPTIONS.search(rest)
            row["options"] = parse_options(opts.group(1)) if opts else {}
        frames[frame] = row
    return frames


def run_tcpdump(path: Path) -> str:
    """tcpdump's own decode: numbered frames, absolute sequence numbers, no names."""
    exe = shutil.which("tcpdump")
    assert exe, "tcpdump is not installed (scripts/setup installs it)"
    res = subprocess.run([exe, "-n", "-S", "-#", "-tt", "-r", str(path)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def gre_in_udp_inner(path: Path, out: Path) -> Path:
    """The capture with each Ethernet/IPv4/UDP-port-4754/GRE frame (RFC 8086) cut down to
    the packet GRE carries, written as a raw-IP pcap (linktype 101) with the same frame
    numbers: tcpdump 4.99 has no GRE-in-UDP decoder (it prints these frames as plain UDP,
    and ``-T`` offers no ``gre``), but it decodes the inner packets.  Header layouts:
    RFC 791, RFC 768, RFC 2784/2890 (C, K, S bits each add 4 bytes)."""
    data = path.read_bytes()
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    assert data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"), "classic pcap only"
    assert struct.unpack(endian + "I", data[20:24])[0] == 1, "Ethernet captures only"
    chunks = [data[:20] + struct.pack(endian + "I", 101)]
    at = 24
    while at + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack(endian + "IIII", data[at:at + 16])
        frame = data[at + 16:at + 16 + incl]
        at += 16 + incl
        inner = frame[14:]
        if frame[12:14] == b"\x08\x00" and len(frame) >= 14 + 20 and frame[23] == 17:
            ihl = (frame[14] & 0x0F) * 4
            udp = 14 + ihl
            ports = struct.unpack("!HH", frame[udp:udp + 4])
            if 4754 in ports:
                gre = udp + 8
                bits = frame[gre]
                gre_len = 4 + 4 * sum(bool(bits & b) for b in (0x80, 0x20, 0x10))
                inner = frame[gre + gre_len:]
        cut = incl - len(inner)
        chunks.append(struct.pack(endian + "IIII", sec, usec, len(inner), orig - cut) + inner)
    out.write_bytes(b"".join(chunks))
    return out


def tcpdump_relative(rows: list[tuple[str, int, str, int, int, int, int]]) -> list[tuple[int, int]]:
    """(seq, ack) as tcpdump prints them without -S (print-tcp.c): the first segment of a
    conversation, or any SYN, prints absolute numbers and sets the bases (its seq for its
    direction, its ack - 1 for the other); later ones print seq and ack minus the bases.
    ``rows``: (src, sport, dst, dport, flags, seq, ack) in file order."""
    bases: dict[tuple, int] = {}
    out = []
    for src, sport, dst, dport, flags, seq, ack in rows:
        me, peer = (src, sport), (dst, dport)
        conv = frozenset((me, peer))
        if (conv, me) not in bases or flags & 0x02:
            bases[(conv, me)], bases[(conv, peer)] = seq, (ack - 1) % 2**32
            out.append((seq, ack))
        else:
            out.append(((seq - bases[(conv, me)]) % 2**32, (ack - bases[(conv, peer)]) % 2**32))
    return out
