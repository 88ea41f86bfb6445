"""Bad input gets one clear line and exit 2 (or a warning, partial results and exit 0 for
a truncated tail or a corrupt length in the middle, as tshark shows the frames before
it) -- never a traceback, and no allocation driven by a corrupt length."""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc

import pytest

import tcpwatch
from tcpwatch.errors import CaptureError

from .conftest import PUBLIC, REPO, needs_tshark
from .pcapgen import write_pcap, write_pcapng

HANDSHAKE = PUBLIC / "zeek" / "http-get.pcap"  # 14 TCP frames, Ethernet


def run_cli(*args: str, stdin=None):
    return subprocess.run([sys.executable, "-m", "tcpwatch", *args], capture_output=True,
                          text=True, cwd=REPO, stdin=stdin, timeout=120)


def assert_one_line_error(res, *words: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert lines[0].startswith("tcpwatch: error:")
    for w in words:
        assert w in lines[0], lines[0]


def test_empty_file(tmp_path):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    assert_one_line_error(run_cli("analyze", str(p)), "empty")


def test_text_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("TCP three-way handshake: SYN, SYN-ACK, ACK\n")
    assert_one_line_error(run_cli("analyze", str(p)), "not a pcap or pcapng", "'TCP ")


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("analyze", str(tmp_path / "nope.pcap")), "cannot open")


def test_truncated_file_header(tmp_path):
    p = tmp_path / "head.pcap"
    p.write_bytes(HANDSHAKE.read_bytes()[:10])
    assert_one_line_error(run_cli("analyze", str(p)), "truncated pcap file header")


def test_truncated_last_record_warns_and_keeps_the_rest(tmp_path):
    raw = HANDSHAKE.read_bytes()
    p = tmp_path / "cut.pcap"
    p.write_bytes(raw[:-30])  # cut inside the last record
    res = run_cli("analyze", str(p), "-o", str(tmp_path / "cut.csv"))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("tcpwatch: warning:")]
    assert len(warn) == 1 and "cut short" in warn[0] and "13 frames" in warn[0]
    with pytest.warns(tcpwatch.CaptureWarning):
        seg = tcpwatch.read_segments(p)
    assert seg["frame"].tolist() == list(range(1, 14))


def _record_offsets(raw: bytes) -> list[int]:
    """Byte offset of each record of a little-endian pcap."""
    pos, offsets = 24, []
    while pos + 16 <= len(raw):
        offsets.append(pos)
        pos += 16 + struct.unpack_from("<I", raw, pos + 8)[0]
    return offsets


def _corrupt_length_pcap(tmp_path, record: int):
    """http-get.pcap with the captured length of ``record`` (0-based) set to 2 GB."""
    raw = bytearray(HANDSHAKE.read_bytes())
    at = _record_offsets(bytes(raw))[record]
    struct.pack_into("<I", raw, at + 8, 0x80000000)
    p = tmp_path / f"corrupt{record}.pcap"
    p.write_bytes(bytes(raw))
    return p, at


def tshark_frames(path) -> list[int]:
    """The frames tshark shows of a damaged capture (it exits 2 after them)."""
    res = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and ("damaged" in res.stderr or "cut short" in res.stderr), res
    return [int(x) for x in res.stdout.split()]


def _one_warning(res, *words: str) -> str:
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("tcpwatch: warning:")]
    assert len(warn) == 1, res.stderr
    for w in words:
        assert w in warn[0], warn[0]
    return warn[0]


@needs_tshark
def test_corrupt_record_length_mid_file_keeps_the_frames_before_it(tmp_path):
    p, at = _corrupt_length_pcap(tmp_path, 5)
    res = run_cli("analyze", str(p), "-o", str(tmp_path / "out.csv"))
    _one_warning(res, "corrupt record length 2147483648", f"byte offset {at}", "5 frames")
    with pytest.warns(tcpwatch.CaptureWarning, match=f"byte offset {at}"):
        seg = tcpwatch.analyze(p)
    assert seg["frame"].tolist() == tshark_frames(p) == [1, 2, 3, 4, 5]


def test_corrupt_first_record_length_warns_with_no_frames(tmp_path):
    p, _ = _corrupt_length_pcap(tmp_path, 0)
    res = run_cli("analyze", str(p))
    _one_warning(res, "corrupt record length 2147483648", "byte offset 24", "0 frames")
    assert "no TCP segments" in res.stdout


def test_corrupt_record_length_allocates_nothing_big(tmp_path):
    p, _ = _corrupt_length_pcap(tmp_path, 0)
    tracemalloc.start()
    with pytest.warns(tcpwatch.CaptureWarning, match="byte offset 24"):
        seg = tcpwatch.read_segments(p, chunk_size=1 << 16)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(seg) == 0
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def _pcapng_blocks(raw: bytes) -> list[tuple[int, int]]:
    """(offset, type) of each block of a little-endian pcapng."""
    pos, blocks = 0, []
    while pos + 12 <= len(raw):
        btype, blen = struct.unpack_from("<II", raw, pos)
        blocks.append((pos, btype))
        pos += blen
    return blocks


@needs_tshark
@pytest.mark.parametrize("length", [0x7FFFFFF0, 0x2000000, 50, 8])
def test_corrupt_pcapng_block_length_mid_file(tmp_path, length):
    raw = bytearray((PUBLIC / "chrissanders-packets" / "tcp_handshake.pcapng").read_bytes())
    epbs = [pos for pos, btype in _pcapng_blocks(bytes(raw)) if btype == 6]
    at = epbs[1]  # the second packet's block
    struct.pack_into("<I", raw, at + 4, length)
    p = tmp_path / "corrupt.pcapng"
    p.write_bytes(bytes(raw))
    res = run_cli("analyze", str(p), "-o", str(tmp_path / "out.csv"))
    _one_warning(res, "corrupt pcapng block", f"length {length}", f"byte offset {at}",
                 "1 frames")
    with pytest.warns(tcpwatch.CaptureWarning):
        seg = tcpwatch.read_segments(p)
    assert seg["frame"].tolist() == tshark_frames(p) == [1]


def test_corrupt_pcapng_interface_block_length(tmp_path):
    raw = bytearray((PUBLIC / "chrissanders-packets" / "tcp_handshake.pcapng").read_bytes())
    shb_len = struct.unpack_from("<I", raw, 4)[0]
    struct.pack_into("<I", raw, shb_len + 4, 0x7FFFFFF0)  # the IDB's block length
    p = tmp_path / "corrupt.pcapng"
    p.write_bytes(bytes(raw))
    _one_warning(run_cli("analyze", str(p)), "corrupt pcapng block", f"byte offset {shb_len}",
                 "0 frames")


def test_unsupported_link_type(tmp_path):
    p = tmp_path / "usb.pcap"
    write_pcap(p, 189, [(1, 0, 4, b"\x00" * 4)])
    assert_one_line_error(run_cli("analyze", str(p)), "unsupported link type 189", "USB")


def test_unsupported_link_type_in_pcapng(tmp_path):
    p = tmp_path / "usb.pcapng"
    write_pcapng(p, 189, [(1, 0, 4, b"\x00" * 4)])
    assert_one_line_error(run_cli("analyze", str(p)), "unsupported link type 189")


def test_no_tcp_says_so(tmp_path):
    res = run_cli("analyze", str(PUBLIC / "chrissanders-packets" / "stranded_clientside.pcapng"))
    assert res.returncode == 0, res.stderr
    assert "no TCP segments" in res.stdout and "2 frames" in res.stdout


def test_api_raises_capture_error(tmp_path):
    p = tmp_path / "x.pcap"
    p.write_bytes(b"\x1f\x8b\x08\x00rest")
    with pytest.raises(CaptureError, match="gzip"):
        tcpwatch.read_segments(p)


def test_pcapng_magic_with_a_bad_section_header_is_not_a_capture(tmp_path):
    raw = bytearray((PUBLIC / "chrissanders-packets" / "tcp_handshake.pcapng").read_bytes())
    raw[8:12] = b"\xde\xad\xbe\xef"  # the byte-order magic of the first section header
    p = tmp_path / "bad.pcapng"
    p.write_bytes(bytes(raw))
    assert_one_line_error(run_cli("analyze", str(p)), "not a pcapng file", "deadbeef")
