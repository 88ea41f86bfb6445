"""The hostile captures of tests/fuzz/corpus/ (made by make_corpus.py, except the long
fuzz run's found-shared-transition-text.pcap, kept as is; the found-* files were found by
the fuzzer): each keeps the fuzzer's rules, in the library and on the command line, and
gives the frames and the warning it should."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import needs_tshark
from .oracle import check, check_cli, memory_bound

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".pcap", ".pcapng"))

#: file -> (frames tcpwatch keeps, words of its one warning or None)
EXPECTED = {
    "found-tsresol-127.pcapng": ([1, 2, 3, 4], "impossible timestamp resolution"),
    "found-unknown-interface.pcapng": ([1, 2], "undescribed interface 1"),
    # found by the long fuzz run (as is, not made by make_corpus.py): two connections whose
    # different state quadruples share a transition text ('Categorical categories must be
    # unique', fixed in main by 4eddd8a)
    "found-shared-transition-text.pcap": ([1, 2, 3, 4, 5, 6], None),
    "record-length-4g.pcap": ([1], "corrupt record length 4294967295"),
    "record-length-4g-bigendian.pcap": ([], "corrupt record length 4294967280"),
    "block-length-4g.pcapng": ([1], "length 4294967292"),
    "block-length-zero.pcapng": ([1, 2], "length 0"),
    "epb-caplen-past-block.pcapng": ([1], "corrupt pcapng block"),
    "cut-in-record-header.pcap": ([1], "cut short"),
    "ihl0-doff0-doff15.pcap": ([], None),
    "option-length-0-and-255.pcap": ([1, 2], None),
    "ip-total-length-lies.pcap": ([1, 2], None),
    "ipv6-payload-length-0.pcapng": ([1, 3], None),
}
#: the container is broken: tshark shows the same frames (it stops at the same place).
#: Not record-length-4g.pcap: a bad second record makes Wireshark guess another pcap
#: variant (its format heuristics look at the first records) and decode garbage.
SAME_FRAMES_AS_TSHARK = [n for n, (_, w) in EXPECTED.items()
                         if w and n != "record-length-4g.pcap"]


def test_the_corpus_is_complete():
    assert sorted(p.name for p in FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_file(path, tmp_path):
    frames, warning = EXPECTED[path.name]
    with memory_bound():
        out = check(path.read_bytes())
    assert out.kind == "ok" and out.frame is not None
    assert out.frame["frame"].tolist() == frames
    if warning is None:
        assert out.message == ""
    else:
        assert len(out.message.splitlines()) == 1 and warning in out.message, out.message
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    code, err = check_cli(copy)
    assert code == 0
    assert len(err.splitlines()) == (warning is not None)


@needs_tshark
@pytest.mark.parametrize("name", SAME_FRAMES_AS_TSHARK)
def test_broken_container_frames_as_tshark(name):
    res = subprocess.run(["tshark", "-n", "-r", str(CORPUS / name), "-T", "fields", "-e",
                          "frame.number"], capture_output=True, text=True, timeout=60)
    shown = [int(x) for x in res.stdout.split()]
    assert shown == EXPECTED[name][0]
