"""``-Y`` selects the same frames as tshark -2's display filters, on every capture in the
repository (captures/*.pcap and captures/public/**), for filters covering every operator
and every Wireshark field tcpwatch maps.

To keep this to one tshark run (two, concurrently), the captures are concatenated into
pcapng files (mergecap -a) that both tcpwatch and tshark read, so frame and stream numbers
are those of the same file on both sides.  Compared are the frames whose outermost
transport is TCP (tshark also decodes TCP headers quoted inside ICMP errors, which are no
segments).  Filters on IP addresses skip frames with more than one IP header (tunnels):
there Wireshark's ``ip.src`` is any of them, the table holds the innermost."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import tcpwatch
from tcpwatch.filter import FIELDS, compile_filter
from tcpwatch.report.parity import TCP_ONLY
from tcpwatch.vocab import Col

from ..conftest import REPO, needs_tshark, public_captures
from . import wireshark

#: captures holding the very connection another one holds (same addresses, ports and
#: sequence numbers): concatenated after it, Wireshark sees retransmissions and tcpwatch
#: out-of-order segments, a difference of the concatenation, not of the filter.
SECOND_FILE = ("http-get.pcap",)

MULTI_IP = "count(ip) > 1 || count(ipv6) > 1 || (ip && ipv6)"

FILTERS: tuple[str, ...] = (
    # flags, numeric and bit by bit
    "tcp.flags.syn == 1",
    "tcp.flags.syn == 1 && tcp.flags.ack == 0",
    "tcp.flags.fin == 1 || tcp.flags.reset == 1",
    "tcp.flags.push eq 1 and tcp.len > 100",
    "tcp.flags == 0x012",
    "tcp.flags.urg == 1 || tcp.flags.ece == 1 || tcp.flags.cwr == 1 || tcp.flags.ae == 1",
    "tcp.flags.syn == True",
    "tcp.flags.reset",
    "!(tcp.flags.ack == 1)",
    "not tcp.flags.ack == 1 or tcp.flags.fin ne 0",
    # ports: any / all / every quantifier
    "tcp.port == 80",
    "tcp.port != 80",
    "tcp.port ~= 80",
    "tcp.port === 443",
    "tcp.port any_eq 8080 || tcp.port all_ne 22 && tcp.srcport < 1024",
    "tcp.srcport lt 1024",
    "tcp.dstport >= 49152",
    "tcp.srcport > tcp.dstport",
    "tcp.port in {80, 443, 8080}",
    "tcp.port in {1..1023}",
    "tcp.port not in {80, 443}",
    # addresses
    "ip.addr == 127.0.0.1",
    "ip.addr != 127.0.0.1",
    "ip.src == 10.0.0.0/8",
    "ip.dst ne 192.168.0.0/16",
    "ip.src > 100.0.0.0",
    "ip.addr in {127.0.0.1, 10.0.0.1..10.255.255.255}",
    "ipv6.addr == ::1",
    "ipv6.src == fe80::/10 || ipv6.dst == 2001:db8::/32",
    "ipv6.addr != ::1",
    "ipv6.dst le fd00::",
    "ip && tcp.len == 0",
    "ipv6 and tcp.len gt 0",
    # connections, sequence space, windows
    "tcp.stream == 3",
    "tcp.stream in {0..5} || tcp.stream > 200",
    "tcp.len == 0x0",
    "tcp.len le 1 && tcp.len ge 1",
    "tcp.seq == 1",
    "tcp.ack == 1",
    "tcp.seq > 100000 and tcp.ack lt 1000",
    "tcp.seq_raw == 0 || tcp.ack_raw < 1000",
    "tcp.window_size == 0",
    "tcp.window_size > 65535",
    "tcp.window_size_value < 1000",
    "tcp.window_size_value == tcp.window_size",
    "tcp.options.mss_val < 1460 || tcp.options.wscale.shift >= 7",
    "tcp.options.timestamp.tsval && tcp.options.timestamp.tsecr == 0",
    "frame.number <= 100",
    "frame.number in {1, 5, 9..20}",
    "frame && tcp && frame.number > 11000",
    # analysis fields
    "tcp.analysis.flags && !tcp.analysis.window_update",
    "!tcp.analysis.retransmission && tcp.len > 0",
    "not (tcp.analysis.duplicate_ack or tcp.analysis.keep_alive)",
    "tcp.analysis.bytes_in_flight > 1000",
    "tcp.analysis.duplicate_ack_num >= 2",
    "tcp.analysis.duplicate_ack_frame",
    "tcp.analysis.ack_rtt > 0.01",
    "tcp.analysis.acks_frame && tcp.analysis.ack_rtt < 0.0001",
    # precedence: && binds tighter than ||, ! tighter than both
    "tcp.port == 80 || tcp.port == 443 && tcp.flags.syn == 1",
    "(tcp.port == 80 || tcp.port == 443) && tcp.flags.syn == 1",
    "!tcp.flags.syn == 1 && tcp.len == 0 || tcp.flags.fin == 1",
    "tcp.port==80&&!tcp.flags.ack==1||ipv6.addr!=::1&&tcp.len>0",  # no blanks
) + tuple(f"tcp.analysis.{name}" for name in (
    "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
    "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window",
    "zero_window_probe", "zero_window_probe_ack", "window_full", "window_update",
    "keep_alive", "keep_alive_ack", "reused_ports"))

#: checked with a plain tshark -Y too (the Lua taps must agree with it)
PLAIN = ("tcp.port != 80", "ip.addr != 127.0.0.1", "tcp.analysis.flags && "
         "!tcp.analysis.window_update")

_ADDRESS = re.compile(r"\bipv?6?\b(?!\.)|\bipv?6?\.")


def _captures() -> list[Path]:
    own = sorted((REPO / "captures").glob("*.pcap"))
    assert own, "no captures in captures/"
    return own + public_captures()


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> list[Path]:
    if shutil.which("mergecap") is None:
        pytest.fail("mergecap (wireshark-common) is missing")
    tmp = tmp_path_factory.mktemp("yfilter")
    files = _captures()
    second = [p for p in files if p.name in SECOND_FILE]
    assert len(second) == len(SECOND_FILE), "a SECOND_FILE capture is gone"
    out = []
    for i, group in enumerate(([p for p in files if p not in second], second)):
        path = tmp / f"all{i}.pcapng"
        subprocess.run(["mergecap", "-F", "pcapng", "-a", "-w", str(path), *map(str, group)],
                       check=True, capture_output=True, timeout=60)
        out.append(path)
    return out


def test_filters_cover_every_operator_and_mapped_field():
    words = " ".join(FILTERS)
    for op in ("==", "!=", "===", "~=", "<", ">", "<=", ">=", "eq", "ne", "lt", "gt", "le",
               "ge", "any_eq", "all_ne", "&&", "||", "!", "and", "or", "not", " in {",
               "not in", "..", "(", "0x", "True"):
        assert op in words, op
    wireshark_fields = {f for f in FIELDS if not f.startswith("tcpwatch.")}
    used = {f for f in wireshark_fields if re.search(rf"(?<![\w.]){re.escape(f)}(?![\w.])",
                                                      words)}
    assert used == wireshark_fields, wireshark_fields - used
    assert len(FILTERS) >= 40


@needs_tshark
def test_same_frames_as_tshark(merged, tmp_path):
    specs = [*FILTERS, TCP_ONLY, MULTI_IP]
    procs = [wireshark.start(path, specs, tmp_path / f"taps{i}.lua")
             for i, path in enumerate(merged)]
    plain = [wireshark.start_display_filter(merged[0], text) for text in PLAIN]
    mismatches: list[str] = []
    total = 0
    for path, proc in zip(merged, procs, strict=True):
        seg = tcpwatch.analyze(path)
        theirs = wireshark.frames(proc, len(specs))
        universe, multi_ip = theirs[-2], theirs[-1]
        frames = seg[Col.FRAME].to_numpy()
        assert set(frames.tolist()) == universe, "tcpwatch and tshark see other TCP frames"
        total += len(frames)
        for text, tshark_frames in zip(FILTERS, theirs, strict=False):
            ours = set(frames[compile_filter(text)(seg)].tolist())
            want = tshark_frames & universe
            if _ADDRESS.search(text):
                ours, want = ours - multi_ip, want - multi_ip
            if ours != want:
                mismatches.append(f"{path.name} {text!r}: tcpwatch only "
                                  f"{sorted(ours - want)[:8]}, tshark only "
                                  f"{sorted(want - ours)[:8]}")
        if path == merged[0]:  # the taps select what tshark -Y prints
            for text, proc in zip(PLAIN, plain, strict=True):
                assert wireshark.display_filter_frames(proc) == theirs[FILTERS.index(text)]
    assert total > 10000
    assert not mismatches, "\n".join(mismatches)


@needs_tshark
def test_filters_select_something_and_not_everything(merged, tmp_path):
    """A filter that selects nothing (or everything) everywhere checks little: most do not."""
    seg = tcpwatch.analyze(merged[0])
    counts = [int(compile_filter(t)(seg).sum()) for t in FILTERS]
    useful = [c for c in counts if 0 < c < len(seg)]
    assert len(useful) >= 45, list(zip(FILTERS, counts, strict=True))


