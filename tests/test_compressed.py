"""Compressed captures read as they are (gzip and xz from the standard library; zstd
with the zstandard package, or compression.zstd from Python 3.14): the same table as the
plain file, from a path, a file object or stdin; cut or corrupt compressed data handled
like a cut or corrupt capture."""

from __future__ import annotations

import gzip
import lzma
import subprocess
import sys
import warnings

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.engine.pipeline import CaptureWarning
from tcpwatch.errors import CaptureError

from .conftest import PUBLIC, REPO

PLAIN = [REPO / "captures" / "lossy_bulk.pcap",
         PUBLIC / "chrissanders-packets" / "http_ip4and6.pcapng"]
PACK = {".gz": gzip.compress, ".xz": lzma.compress}


@pytest.mark.parametrize("suffix", list(PACK))
@pytest.mark.parametrize("plain", PLAIN, ids=lambda p: p.name)
def test_same_table_as_the_plain_file(plain, suffix, tmp_path):
    packed = tmp_path / (plain.name + suffix)
    packed.write_bytes(PACK[suffix](plain.read_bytes()))
    want = tcpwatch.analyze(plain)
    pd.testing.assert_frame_equal(tcpwatch.analyze(packed), want)
    with packed.open("rb") as f:  # a file object: read, and left open
        pd.testing.assert_frame_equal(tcpwatch.analyze(f), want)
        assert not f.closed


def test_stdin_and_the_command_line(tmp_path):
    plain = PLAIN[0]
    packed = tmp_path / "x.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    out = tmp_path / "conns.csv"
    with packed.open("rb") as stdin:
        res = subprocess.run([sys.executable, "-m", "tcpwatch", "analyze", "-", "-q",
                              "--conn-log", str(out)], stdin=stdin, capture_output=True,
                             text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert pd.read_csv(out)["pkts_client"].tolist() == \
        tcpwatch.analyze(plain).groupby("conn")["role"].apply(
            lambda r: int((r == "client").sum())).tolist()


@pytest.mark.parametrize("suffix", list(PACK))
def test_cut_short_keeps_the_frames_before(suffix, tmp_path):
    data = PACK[suffix](PLAIN[0].read_bytes())
    cut = tmp_path / ("cut.pcap" + suffix)
    cut.write_bytes(data[:len(data) // 2])
    kind = {".gz": "gzip", ".xz": "xz"}[suffix]
    with pytest.warns(CaptureWarning) as caught:
        seg = tcpwatch.analyze(cut)
    said = [str(w.message) for w in caught]
    assert any(f"its {kind}-compressed data ends early" in m for m in said), said
    assert 0 < len(seg) < len(tcpwatch.analyze(PLAIN[0]))


@pytest.mark.parametrize("name, data, words", [
    ("bad.gz", b"\x1f\x8b\x08\x00rest", "gzip-compressed"),
    ("bad.xz", b"\xfd7zXZ\x00" + b"garbage" * 4, "xz-compressed data is corrupt"),
    ("empty.pcap.gz", gzip.compress(b""), "gzip-compressed, and empty"),
    ("text.pcap.gz", gzip.compress(b"hello world\n"), "not a pcap or pcapng file"),
])
def test_bad_compressed_data_is_a_capture_error(name, data, words, tmp_path):
    """(on the command line: one line, exit 2: tests/test_conn_log.py)"""
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(CaptureError, match=words):
        tcpwatch.analyze(p)


def test_zstd_as_the_zstd_tool_writes_it(tmp_path):
    """A capture compressed by the zstd command (Debian's zstd, a checksummed frame) reads
    as the plain file; two frames one after the other too; cut in the middle, the
    frames before the cut are kept, with a warning."""
    big = REPO / "captures" / "many_short.pcap"
    zst = tmp_path / "x.pcap.zst"
    subprocess.run(["zstd", "-q", "-f", str(big), "-o", str(zst)], check=True)
    want = tcpwatch.analyze(big)
    pd.testing.assert_frame_equal(tcpwatch.analyze(zst), want)
    two = tmp_path / "two.pcap.zst"
    data = big.read_bytes()
    parts = [subprocess.run(["zstd", "-q", "-c"], input=piece, capture_output=True,
                            check=True).stdout for piece in (data[:5000], data[5000:])]
    two.write_bytes(b"".join(parts))
    pd.testing.assert_frame_equal(tcpwatch.analyze(two), want)
    cut = tmp_path / "cut.pcap.zst"
    cut.write_bytes(zst.read_bytes()[: zst.stat().st_size * 2 // 3])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        got = tcpwatch.analyze(cut)
    texts = [str(w.message) for w in said if issubclass(w.category, CaptureWarning)]
    # the compressed stream ends early, and so the last record in it
    assert any("zstd-compressed data ends early" in t for t in texts), texts
    assert any("the last record is incomplete" in t for t in texts), texts
    assert 0 < len(got) < len(want)
    pd.testing.assert_frame_equal(got, want.iloc[:len(got)].astype(got.dtypes.to_dict()),
                                  check_categorical=False)
