"""Every bad value on the command line: one line on stderr, exit 2, before any work starts
(issue 13 §1).  Each command runs in an empty folder: after a refusal the folder is still
empty (no capture, no -o file, no default captures/live/), nothing was printed on stdout
(no server said it listens, no table) and nothing on stderr but the one line (no
"capturing on").  The long table runs the CLI's entry point in this process (the values
are refused by click or by the first lines of a command); the cases the issue reported,
and every one that could bind, capture or install signal handlers, run as a user runs
them, ``python -m tcpwatch``."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PUBLIC, REPO, needs_root

HTTP = PUBLIC / "zeek" / "http-get.pcap"  # one connection: conn 0
TWO = PUBLIC / "chrissanders-packets" / "http_ip4and6.pcapng"  # conns 0 and 1


def tcpwatch_in(folder: Path, *args: str, env: dict | None = None
                ) -> subprocess.CompletedProcess:
    """``python -m tcpwatch ARGS`` in ``folder``, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "tcpwatch", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60, env=env)


def tcpwatch_here(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``tcpwatch ARGS`` through the CLI's entry point in this process, in ``folder``."""
    import contextlib
    import io

    from tcpwatch.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                pytest.raises(SystemExit) as exit_:
            main(list(args))
    finally:
        os.chdir(cwd)
    return subprocess.CompletedProcess(args, exit_.value.code, out.getvalue(), err.getvalue())


def assert_refused(res: subprocess.CompletedProcess, folder: Path, *words: str) -> str:
    """Exit 2, one ``tcpwatch: error:`` line naming ``words``, nothing else anywhere."""
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("tcpwatch: error: "), lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert res.stdout == "", res.stdout  # no "listening on" of a server, no table, no help
    assert sorted(p.name for p in folder.iterdir()) == [], "a file was left behind"
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LIVE = ("live", "--write", "x.pcap", "--duration", "1")

#: as the issue reported them, and what gets as far as binding: run as a user runs them
REFUSED_OUTSIDE = [
    (("serve", "thread", "--port", "70000"), ["'--port'", "70000", "0<=x<=65535"]),
    (("serve", "thread", "--host", "10.254.254.254"), ["cannot listen on 10.254.254.254"]),
    ((*LIVE, "--scenario", "zero_window"), ["--scenario needs a server", "--serve"]),
    (("analyze", str(HTTP), "--conn", "99", "-o", "x.csv"),
     ["no connection 99", "it has connection 0"]),
]

REFUSED = [
    # serve: the port, the model, the framing, sizes
    (("serve", "thread", "--port", "-1"), ["'--port'", "-1"]),
    (("serve", "thread", "--port", "65536"), ["'--port'", "65536"]),
    (("serve", "bogus"), ["'bogus' is not one of", "'thread'"]),
    (("serve", "thread", "--framing", "xml"), ["'--framing'", "'length'"]),
    (("serve", "thread", "--max-frame", "0"), ["'--max-frame'", "x>=1"]),
    (("serve", "thread", "--max-frame", "-5"), ["'--max-frame'"]),
    (("serve", "thread", "--close-after", "0"), ["'--close-after'", "x>=1"]),
    # live: checked before the capture starts
    ((*LIVE, "--serve", "bogus"), ["'--serve'", "'bogus'", "'thread'"]),
    ((*LIVE, "--serve", "thread", "--scenario", "bogus"),
     ["'--scenario'", "'bogus'", "'zero_window'"]),
    ((*LIVE, "--serve", "fork", "--scenario", "server_closes_first"),
     ["server_closes_first", "--close-after 1"]),
    ((*LIVE, "--serve", "select", "--scenario", "echo_both_close"),
     ["echo_both_close", "--close-after 1"]),
    ((*LIVE, "--serve", "thread", "--scenario", "syn_timeout"),
     ["syn_timeout needs a network of its own", "tcpwatch record syn_timeout"]),
    ((*LIVE, "--serve", "thread", "--scenario", "lossy_bulk"), ["lossy_bulk needs a network"]),
    ((*LIVE, "--serve", "select", "--scenario", "ipv6_echo"), ["::1", "--host ::1"]),
    ((*LIVE, "--serve", "fork", "--scenario", "many_short"), ["second server on port + 1"]),
    ((*LIVE, "--close-after", "1"), ["--close-after", "--serve"]),
    ((*LIVE, "-o", "x.txt"), ["unknown extension '.txt'", ".csv"]),
    ((*LIVE, "-o", "nowhere/x.csv"), ["no folder", "nowhere"]),
    (("live", "--write", "x.pcap", "--duration", "0"), ["'--duration'", "x>0"]),
    (("live", "--write", "x.pcap", "--duration", "-2"), ["'--duration'"]),
    (("live", "--write", "x.pcap", "--duration", "nan"), ["not a number of seconds"]),
    (("live", "--write", "x.pcap", "--duration", "2s"), ["'2s' is not a valid number"]),
    ((*LIVE, "--count", "1.5"), ["'1.5' is not a valid whole number"]),
    ((*LIVE, "--port", "http"), ["'http' is not a valid port number"]),
    ((*LIVE, "--count", "0"), ["'--count'", "x>=1"]),
    ((*LIVE, "--count", "-3"), ["'--count'"]),
    ((*LIVE, "--top", "-1"), ["'--top'", "x>=0"]),
    ((*LIVE, "--port", "70000"), ["'--port'", "1<=x<=65535"]),
    ((*LIVE, "--port", "0"), ["'--port'"]),
    ((*LIVE, "-B", "0"), ["'--buffer-size'"]),
    ((*LIVE, "-i", "nosuchif0"), ["no such interface 'nosuchif0'", "lo", "any"]),
    # analyze: -o and the selection
    (("analyze", str(TWO), "--conn", "1", "--conn", "99", "-o", "x.parquet"),
     ["no connection 99", "connections 0 to 1"]),
    (("analyze", str(HTTP), "--conn", "-1"), ["'--conn'"]),
    (("analyze", str(HTTP), "--top", "-1"), ["'--top'"]),
    (("analyze", str(HTTP), "-o", "x.xls"), ["unknown extension '.xls'"]),
    (("analyze", str(HTTP), "-o", "x"), ["unknown extension '(none)'"]),
    (("analyze", str(HTTP), "-o", "nowhere/x.csv"), ["no folder"]),
    (("analyze", str(REPO / "README.md")), ["not a pcap or pcapng file"]),
    (("analyze", str(REPO / "captures")), ["Is a directory"]),
    # verify, replay, record, the group itself
    (("verify", str(HTTP), "--engine", "bogus"), ["'--engine'", "'fields'"]),
    (("replay", str(REPO / "tcpwatch")), ["no captures", "tcpwatch"]),
    (("replay", str(REPO / "nowhere")), ["is not a folder"]),
    (("record", "--out", "rec", "handshake_echo_close", "bogus"),
     ["unknown scenario 'bogus'"]),
    (("bogus",), ["No such command 'bogus'"]),
    (("analyze",), ["Missing argument 'FILE'", "(tcpwatch analyze -h)"]),
    (("states", "--bogus"), ["No such option", "--bogus"]),
]


def _id(v) -> str:
    return " ".join(v).replace(str(REPO) + "/", "") if isinstance(v, tuple) else "-"


@pytest.mark.parametrize("args, words", REFUSED_OUTSIDE, ids=_id)
def test_bad_value_is_one_line_and_exit_2(tmp_path, args, words):
    assert_refused(tcpwatch_in(tmp_path, *args), tmp_path, *words)


@pytest.mark.parametrize("args, words", REFUSED, ids=_id)
def test_bad_value_is_refused_before_any_work(tmp_path, args, words):
    assert_refused(tcpwatch_here(tmp_path, *args), tmp_path, *words)


def test_a_scenario_needs_a_listening_server(tmp_path):
    port = _free_port()  # nothing listens on it
    res = tcpwatch_here(tmp_path, *LIVE, "--port", str(port), "--scenario",
                        "handshake_echo_close")
    assert_refused(res, tmp_path, f"nothing listens on port {port}")


def test_verify_without_tshark_on_path(tmp_path):
    """tshark missing: one line before the capture is read (pyshark's own error was a
    traceback); the PATH holds nothing, the interpreter is called by its full path."""
    empty = tmp_path / "bin"
    empty.mkdir()
    res = tcpwatch_in(tmp_path / "bin", "verify", str(HTTP),
                      env={**os.environ, "PATH": str(empty)})
    assert_refused(res, empty, "tshark is not on PATH", "apt install tshark")


@pytest.mark.parametrize("args, words", [
    (("replay", str(REPO / "captures")), ["tshark not found on PATH"]),
    (("record", "--out", "rec", "handshake_echo_close"), ["tcpdump, tshark, ip not found"]),
], ids=_id)
def test_replay_and_record_without_their_programs(tmp_path, args, words):
    """The programs replay and record run are looked for before anything is read or
    recorded (PATH here holds nothing)."""
    if args[0] == "record" and os.geteuid() != 0:
        words = ["needs root"]  # said first
    res = tcpwatch_in(tmp_path, *args, env={**os.environ, "PATH": str(tmp_path / "bin")})
    assert_refused(res, tmp_path, *words)


@needs_root
def test_record_as_a_user_says_it_needs_root(tmp_path):
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed for this test"
    out = tmp_path / "rec"
    res = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                          sys.executable, "-m", "tcpwatch", "record", "--out", str(out),
                          "handshake_echo_close"], cwd="/", capture_output=True, text=True,
                         timeout=60)
    assert_refused(res, tmp_path, "tcpwatch record needs root", "try: sudo tcpwatch record")


@needs_root
def test_record_into_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("")
    res = tcpwatch_in(tmp_path, "record", "--out", "afile", "handshake_echo_close")
    (tmp_path / "afile").unlink()  # what the test made; nothing else may be there
    assert_refused(res, tmp_path, "--out afile is a file, not a folder")


def test_a_repeated_conn_selects_each(tmp_path):
    """--conn 0 --conn 1: both connections, not the last one only."""
    import pandas as pd

    res = tcpwatch_here(tmp_path, "analyze", str(TWO), "--conn", "0", "--conn", "1", "-o",
                        "both.csv", "-q")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert sorted(pd.read_csv(tmp_path / "both.csv")["conn"].unique()) == [0, 1]
    res = tcpwatch_here(tmp_path, "analyze", str(TWO), "--conn", "1", "-o", "one.csv", "-q")
    assert sorted(pd.read_csv(tmp_path / "one.csv")["conn"].unique()) == [1]


# -- the Python API ----------------------------------------------------------------------
@pytest.mark.parametrize("source, words", [
    (b"\xd4\xc3\xb2\xa1", "not bytes: for a capture in memory pass io.BytesIO(data)"),
    (bytearray(b"x"), "not bytearray"),
    (42, "not int"),
])
def test_api_refuses_what_is_not_a_capture_source(source, words):
    import tcpwatch

    with pytest.raises(TypeError, match="a capture is a path") as err:
        tcpwatch.analyze(source)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_api_refuses_a_text_file(tmp_path):
    import tcpwatch

    with open(HTTP, encoding="latin-1") as f, pytest.raises(TypeError, match="'rb'"):
        tcpwatch.analyze(f)


def test_api_leaves_the_callers_file_open():
    import tcpwatch

    with open(HTTP, "rb") as f:
        assert len(tcpwatch.analyze(f)) == 14
        assert not f.closed
        f.seek(0)  # still the caller's to use
        assert len(tcpwatch.read_segments(f)) == 14
        assert not f.closed


# -- live, as root ---------------------------------------------------------------------
@needs_root
def test_root_without_cap_net_raw_gets_the_readme_hint(tmp_path):
    """Root whose capabilities lack CAP_NET_RAW (a container, capsh): the hint, not
    "Operation not permitted"."""
    capsh = shutil.which("capsh")
    assert capsh, "capsh (libcap2-bin) is needed for this test"
    res = subprocess.run([capsh, "--drop=cap_net_raw", "--", "-c",
                          f"exec {sys.executable} -m tcpwatch live --write x.pcap "
                          "--duration 1"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    line = assert_refused(res, tmp_path, "tcpwatch live needs root or CAP_NET_RAW; try: "
                          "sudo tcpwatch live", "without CAP_NET_RAW")
    assert "Operation not permitted" not in line


def test_a_cooked_filter_runs_on_the_packet_and_its_metadata():
    """-i any: the kernel sees no link-layer header, so libpcap's program for the cooked
    one is moved: loads past its 16 bytes back by 16, its packet type (byte 0) and
    protocol (byte 14) from the kernel's metadata; a load of any other byte of it is
    refused (the CLI says "the filter ... cannot run on any").  In front: the outgoing
    copy of a loopback packet is dropped."""
    import struct

    from tcpwatch.capture.packetsock import cooked

    insn = struct.Struct("HBBI")
    ldh, ldb, ldxb_msh, ret = 0x28, 0x30, 0xB1, 0x06
    program = b"".join(insn.pack(*i) for i in [
        (ldh, 0, 0, 14), (ldb, 0, 0, 25), (ldxb_msh, 0, 0, 16), (ldh, 0, 0, 0),
        (ret, 0, 0, 262144)])
    out = cooked(program, 1)
    got = [insn.unpack_from(out, i) for i in range(0, len(out), insn.size)]
    ad = 0xFFFFF000  # SKF_AD_OFF
    assert got[:5] == [(0x20, 0, 0, ad + 4), (0x15, 0, 3, 4), (0x20, 0, 0, ad + 8),
                       (0x15, 0, 1, 1), (ret, 0, 0, 0)]
    assert got[5:] == [(ldh, 0, 0, ad + 0), (ldb, 0, 0, 9), (ldxb_msh, 0, 0, 0),
                       (ldh, 0, 0, ad + 4), (ret, 0, 0, 262144)]
    with pytest.raises(ValueError, match="byte 2 of the cooked header"):
        cooked(insn.pack(ldb, 0, 0, 2), 1)


def _frames(pcap: Path) -> int:
    import tcpwatch

    return tcpwatch.analyze(pcap).attrs["tcpwatch"].frames


@needs_root
def test_live_count_stops_at_exactly_n_and_close_after_reaches_the_server(tmp_path):
    """Two runs of server_closes_first (about 10 segments each) under --count 13: the
    file, the piped lines, the -o table and the tcpdump-style counts all hold 13, cut in
    the second connection; in the first, --close-after made the server close first."""
    port = _free_port()
    res = tcpwatch_in(tmp_path, "live", "--serve", "thread", "--close-after", "1", "--port",
                      str(port), "--scenario", "server_closes_first", "--scenario",
                      "server_closes_first", "--count", "13", "--duration", "20",
                      "--write", "c.pcap", "-o", "c.csv")
    assert res.returncode == 0, res.stderr
    assert "warning" not in res.stderr and "Traceback" not in res.stderr
    assert _frames(tmp_path / "c.pcap") == 13
    lines = [ln for ln in res.stdout.splitlines() if re.match(r"\d\d:\d\d:\d\d\.\d+ conn ", ln)]
    assert len(lines) == 13 and " conn 1 " in lines[-1], res.stdout
    first_fin = next(ln for ln in lines if "F" in ln.split("[", 1)[1].split("]")[0])
    assert " conn 0 server → client " in first_fin, first_fin
    assert "(count)" in res.stdout
    assert "live: 13 packets captured" in res.stderr
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "c.csv")) == 13


def test_a_failing_scenario_is_one_warning_line(tmp_path):
    """A scenario driver that fails (its server hung up) leaves the last line of its
    traceback for live's one warning; one still running is stopped, and says nothing."""
    from tcpwatch.cli.live import _stop_helpers

    failing = subprocess.Popen([sys.executable, "-c", "raise ConnectionError('echo mismatch')"],
                               stderr=subprocess.PIPE, text=True)
    failing.wait(timeout=60)
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                               stderr=subprocess.PIPE, text=True)
    assert _stop_helpers([running, failing]) == "ConnectionError: echo mismatch"
    assert running.returncode != 0
    fine = subprocess.Popen([sys.executable, "-c", "pass"], stderr=subprocess.PIPE, text=True)
    fine.wait(timeout=60)
    assert _stop_helpers([fine]) is None


def test_scenarios_still_running_are_stopped_whole():
    """Two scenarios run as ``sh -c "a && b"`` in a process group of their own: stopping
    live stops the driver under sh too (it was left running), and waits for no output."""
    import time

    from tcpwatch.cli.live import _stop_helpers

    chain = subprocess.Popen(["sh", "-c", f"{sys.executable} -c 'import time; "
                              "time.sleep(60)' && true"], stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    deadline = time.monotonic() + 30
    while len(Path(f"/proc/{chain.pid}/task/{chain.pid}/children").read_text().split()) < 1:
        assert time.monotonic() < deadline, "the driver under sh did not start"
        time.sleep(0.02)
    assert _stop_helpers([chain]) is None
    while True:  # the whole group goes: killpg(pgid, 0) finds nobody
        try:
            os.killpg(chain.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the driver under sh was left running"
        time.sleep(0.02)


@needs_root
def test_live_any_is_a_cooked_capture_with_each_segment_once(tmp_path):
    """-i any inside a namespace: an echo over the veth (outgoing segments kept) and one
    over loopback (its outgoing copies dropped, as libpcap does) -- 14 segments each,
    each once, in a Linux cooked (SLL) capture tshark reads too."""
    from tcpwatch.lab.scenarios.netns import python_in, veth_lab
    from tcpwatch.lab.scenarios.run import bundled_server

    port = 9000 + os.getpid() % 1000
    pcap = tmp_path / "any.pcap"
    with veth_lab(238, tag="any") as lab, \
            bundled_server("thread", lab.b.addr, port, netns=lab.b.netns), \
            bundled_server("thread", "127.0.0.1", port, netns=lab.a.netns):
        live = subprocess.Popen(python_in(lab.a.netns, "-m", "tcpwatch", "live", "-i", "any",
                                          "--port", str(port), "--duration", "30",
                                          "--write", str(pcap)),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "capturing on any" in live.stderr.readline()
        both = (f"from tcpwatch.lab.scenarios.drivers import handshake_echo_close as echo; "
                f"echo({lab.b.addr!r}, {port}); echo('127.0.0.1', {port})")
        subprocess.run(python_in(lab.a.netns, "-c", both), check=True, timeout=30)
        live.terminate()
        out, err = live.communicate(timeout=60)
    assert live.returncode == 0, err
    assert pcap.read_bytes()[20:24] == (113).to_bytes(4, "little")  # LINKTYPE_LINUX_SLL
    import tcpwatch

    seg = tcpwatch.analyze(pcap)
    assert seg.groupby("conn").size().tolist() == [14, 14]
    assert sorted({seg["src"].iloc[0], seg["dst"].iloc[0]}) == sorted({lab.a.addr, lab.b.addr})
    assert not seg["events"].str.contains("retransmission|dup").any()
    if shutil.which("tshark"):
        res = subprocess.run(["tshark", "-r", str(pcap)], capture_output=True, text=True)
        assert len(res.stdout.splitlines()) == 28, res.stderr
    assert "SIGTERM" in out
