"""Bad input gets one clear line and exit 2 (or a warning, partial results and exit 0 for
a truncated tail) -- never a traceback, and no allocation driven by a corrupt length."""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc

import pytest

import tcpwatch
from tcpwatch.errors import CaptureError, DecodeError

from .conftest import PUBLIC, REPO
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


def _corrupt_length_pcap(tmp_path):
    raw = bytearray(HANDSHAKE.read_bytes())
    # record 1 starts at 24; its incl_len (little endian) at 24+8: make it 2 GB
    struct.pack_into("<I", raw, 32, 0x80000000)
    p = tmp_path / "corrupt.pcap"
    p.write_bytes(bytes(raw))
    return p


def test_corrupt_record_length_cli(tmp_path):
    res = run_cli("analyze", str(_corrupt_length_pcap(tmp_path)))
    assert_one_line_error(res, "corrupt record length 2147483648", "frame 1")


def test_corrupt_record_length_allocates_nothing_big(tmp_path):
    p = _corrupt_length_pcap(tmp_path)
    tracemalloc.start()
    with pytest.raises(DecodeError) as err:
        tcpwatch.read_segments(p, chunk_size=1 << 16)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert err.value.frame == 1 and err.value.offset == 24
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def test_corrupt_pcapng_block_length(tmp_path):
    raw = bytearray((PUBLIC / "chrissanders-packets" / "tcp_handshake.pcapng").read_bytes())
    shb_len = struct.unpack_from("<I", raw, 4)[0]
    struct.pack_into("<I", raw, shb_len + 4, 0x7FFFFFF0)  # the IDB's block length
    p = tmp_path / "corrupt.pcapng"
    p.write_bytes(bytes(raw))
    assert_one_line_error(run_cli("analyze", str(p)), "corrupt pcapng block")


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
