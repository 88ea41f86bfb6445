"""``tcpwatch live`` against tcpdump on the same traffic: the same segments, in the same
order, once each; live annotations equal offline analysis; clean stops; privileges."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.lab.scenarios.drivers import zero_window
from tcpwatch.lab.scenarios.tcpdump import tcpdump
from tcpwatch.lab.servers.framing import LengthPrefixFramer

from ..conftest import REPO, needs_root, needs_tshark

pytestmark = [needs_root, needs_tshark]
WIRE = ["sport", "dport", "flags", "seq", "ack", "len", "win_raw"]


def start_live(tmp_path, port, *extra):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tcpwatch", "live", "--port", str(port), "--serve", "thread",
         "--write", str(tmp_path / "live.pcap"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stderr.readline()
    assert "capturing on lo" in line, line + proc.stderr.read()
    return proc


def _csv(seg, path):
    from tcpwatch.report.export import write_segments

    write_segments(seg, path)
    return path


def echo_connections(port, n):
    for i in range(n):
        f = LengthPrefixFramer()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(f.encode(str(i).encode()))
            got = []
            while not got:
                got = f.feed(s.recv(100))


NOT_COMPARED = ["ts", "ts_ns", "ack_rtt"]  # each sniffer's own clock reading


def test_live_sees_what_tcpdump_sees_and_annotates_the_same(tmp_path, one_cpu):
    port = 61230
    with tcpdump("lo", tmp_path / "ref.pcap", f"tcp port {port}"):
        proc = start_live(tmp_path, port, "-o", str(tmp_path / "live.csv"))
        try:
            echo_connections(port, 200)
            zero_window("127.0.0.1", port)
            time.sleep(1.0)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "TCP connections captured in" in out and "(SIGINT)" in out
    ref = tcpwatch.analyze(tmp_path / "ref.pcap")
    mine = tcpwatch.analyze(tmp_path / "live.pcap")
    assert ref["conn"].nunique() == 201 and len(ref) > 200 * 8
    # the same segments, in the same order: none twice, none missing
    a, b = mine[WIRE].astype("int64").to_numpy(), ref[WIRE].astype("int64").to_numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.tolist() == b.tolist()
    assert (ref["events"].str.contains("zero_window")).any()
    # the annotations live made as it went (-o) equal offline analysis of tcpdump's file
    live_table = pd.read_csv(tmp_path / "live.csv", keep_default_na=False, dtype=str)
    offline = pd.read_csv(_csv(ref, tmp_path / "offline.csv"), keep_default_na=False,
                          dtype=str)
    assert list(live_table.columns) == list(offline.columns)
    for col in offline.columns.drop(NOT_COMPARED):
        assert live_table[col].tolist() == offline[col].tolist(), col
    rtt = pd.to_numeric(live_table["ack_rtt"]) - pd.to_numeric(offline["ack_rtt"])
    assert rtt.abs().max() < 0.001  # the same ACKs matched; clocks differ by microseconds
    # and, every column, timestamps included: tcpwatch analyze of the file live wrote
    own = pd.read_csv(_csv(mine, tmp_path / "own.csv"), keep_default_na=False, dtype=str)
    pd.testing.assert_frame_equal(live_table, own)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_signal_leaves_a_complete_capture_and_a_summary(tmp_path, sig):
    port = 61231 if sig == signal.SIGINT else 61232
    proc = start_live(tmp_path, port)
    echo_connections(port, 5)
    time.sleep(0.6)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and f"({sig.name})" in out
    frames = subprocess.run(["tshark", "-r", str(tmp_path / "live.pcap")], capture_output=True,
                            text=True)
    assert frames.returncode == 0 and len(frames.stdout.splitlines()) >= 5 * 8


DROP_AND_RUN = """
import os, pwd, sys
import importlib.metadata
import tcpwatch.capture.sniffer, tcpwatch.cli.live, tcpwatch.cli.main as cli, tcpwatch.live
nobody = pwd.getpwnam("nobody")
os.setgroups([])
os.setgid(nobody.pw_gid)
os.setuid(nobody.pw_uid)  # as root -> nobody: CAP_NET_RAW is gone
sys.argv = ["tcpwatch", "live", "--duration", "1"]
cli.main()
"""


def test_without_privileges_one_line_and_exit_2(tmp_path):
    """As the user nobody (setuid from root in the child, since nobody may not read the
    interpreter's files): one line, exit 2, no traceback."""
    res = subprocess.run([sys.executable, "-c", DROP_AND_RUN], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == ("tcpwatch: error: tcpwatch live needs root or CAP_NET_RAW; "
                                  "try: sudo tcpwatch live")


def test_kernel_states_of_real_sockets(tmp_path):
    """--kernel reads /proc/net/tcp{,6}: a live connection is ESTABLISHED on both ends,
    in the piped output too."""
    from tcpwatch.live.kernel import kernel_states, state_of
    from tcpwatch.vocab import EndpointState

    port = 61233
    lst = socket.create_server(("127.0.0.1", port))
    c = socket.create_connection(("127.0.0.1", port))
    srv, _ = lst.accept()
    local = c.getsockname()
    ks = kernel_states()
    assert state_of(ks, local, ("127.0.0.1", port)) == EndpointState.ESTABLISHED
    assert state_of(ks, ("127.0.0.1", port), local) == EndpointState.ESTABLISHED
    assert state_of(ks, ("127.0.0.1", 1), local) == EndpointState.CLOSED
    srv.close()
    c.close()
    lst.close()

    port = 61234
    proc = subprocess.Popen([sys.executable, "-m", "tcpwatch", "live", "--port", str(port),
                             "--kernel", "--write", str(tmp_path / "k.pcap"), "--duration",
                             "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)
    assert "capturing on lo" in proc.stderr.readline()
    lst = socket.create_server(("127.0.0.1", port))
    c = socket.create_connection(("127.0.0.1", port))
    srv, _ = lst.accept()
    out, _err = proc.communicate(timeout=60)
    srv.close()
    c.close()
    lst.close()
    assert "kernel now: client ESTABLISHED server ESTABLISHED" in out


@pytest.mark.parametrize("args, words", [
    (["-i", "nosuchif0"], "no such interface 'nosuchif0'"),
    (["--filter", "tcp and and"], "cannot capture on lo"),
])
def test_bad_interface_or_filter_is_one_line(tmp_path, args, words):
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "live", *args, "--duration", "1",
                          "--write", str(tmp_path / "x.pcap")], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in res.stderr


def test_serve_on_a_port_in_use_is_one_line(tmp_path):
    """``--serve`` on a port something else listens on: the bundled server cannot bind,
    and live says so in one line instead of capturing with nobody answering."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "tcpwatch", "live", "--port", str(port),
                              "--serve", "thread", "--duration", "5",
                              "--write", str(tmp_path / "x.pcap")],
                             capture_output=True, text=True, cwd=REPO, timeout=60)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not start on port" in lines[0], res.stderr
    assert not (tmp_path / "x.pcap").exists()  # nothing was captured: no file is left


def test_write_error_is_one_line_and_keeps_what_was_written(tmp_path):
    """A full disk mid-capture (a 64 KiB tmpfs): one line, exit 2, the summary of what
    was captured, and the file cut back to its last complete batch: tshark reads it
    without complaint and it holds exactly the frames the message says."""
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    try:
        port = 61235
        proc = subprocess.Popen(
            [sys.executable, "-m", "tcpwatch", "live", "--port", str(port), "--serve",
             "thread", "--write", str(disk / "live.pcap"), "--duration", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        assert "capturing on lo" in proc.stderr.readline()
        time.sleep(1.0)
        try:
            for _ in range(50):  # ~50 x 14 KiB of frames: the disk fills up
                if proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                        f = LengthPrefixFramer()
                        s.sendall(f.encode(b"x" * 6000))
                        got = []
                        while not got:
                            got = f.feed(s.recv(65536))
                except OSError:  # live stopped at the write error, and its server too
                    break
                time.sleep(0.1)
        finally:
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, err
        lines = err.strip().splitlines()
        assert "Traceback" not in err
        assert lines[-1].startswith(f"tcpwatch: error: cannot write {disk / 'live.pcap'}: "
                                    "No space left on device (kept the "), lines
        kept = int(lines[-1].split("kept the ")[1].split()[0])
        assert kept > 0 and "TCP connections captured in" in out and "(write error)" in out
        res = subprocess.run(["tshark", "-r", str(disk / "live.pcap")], capture_output=True,
                             text=True)
        complaints = [ln for ln in res.stderr.splitlines() if "Running as user" not in ln]
        assert res.returncode == 0 and complaints == [], res.stderr  # not "cut short"
        assert len(res.stdout.splitlines()) == kept
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_files_of_sudo_belong_to_the_invoking_user(tmp_path):
    """Under sudo (SUDO_UID/SUDO_GID set) the capture and the folders live creates for
    it belong to the user who ran sudo, not to root."""
    target = tmp_path / "made" / "by" / "live.pcap"
    res = subprocess.run(
        [sys.executable, "-m", "tcpwatch", "live", "--port", "61236", "--duration", "1",
         "--write", str(target)], capture_output=True, text=True, cwd=REPO, timeout=60,
        env={**os.environ, "SUDO_UID": "65534", "SUDO_GID": "65534"})
    assert res.returncode == 0, res.stderr
    for p in (target, target.parent, target.parent.parent):
        st = p.stat()
        assert (st.st_uid, st.st_gid) == (65534, 65534), p
    assert tmp_path.stat().st_uid == 0  # what existed before is left alone


def test_count_stops_it_and_piped_output_is_one_line_per_segment(tmp_path):
    """--count N ends the capture by itself once N segments are in; piped, live prints
    one line per annotated segment (states of both ends, events), as many as the file
    holds."""
    port = 61237
    proc = start_live(tmp_path, port, "--count", "30")
    echo_connections(port, 10)  # about 100 segments: more than enough
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "(count)" in out
    lines = [ln for ln in out.splitlines() if " conn " in ln and "| client " in ln]
    frames = tcpwatch.analyze(tmp_path / "live.pcap")
    assert len(frames) == 30 and len(lines) == len(frames)  # exactly N, as tcpdump -c
    first = lines[0]
    assert "client → server [S]" in first and "client SYN_SENT server SYN_RECEIVED" in first
