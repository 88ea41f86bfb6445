"""Ground truth from the kernel: real connections on loopback, captured, and at chosen
moments the kernel's own state of both sockets (/proc/net/tcp) -- the inferred
``state_after_*`` of the last segment captured before each moment must equal it."""

from __future__ import annotations

import socket
import struct
import time

import pytest

import tcpwatch
from tcpwatch.lab.scenarios.tcpdump import tcpdump
from tcpwatch.live.kernel import kernel_states, state_of
from tcpwatch.vocab import EndpointState

from ..conftest import needs_root

pytestmark = needs_root
SETTLE = 0.15  # let the segments of one step cross loopback before reading the kernel


def kernel_state(local_port: int, remote_port: int) -> EndpointState:
    """The state of the 127.0.0.1:local -> 127.0.0.1:remote socket; CLOSED if none."""
    return state_of(kernel_states(), ("127.0.0.1", local_port), ("127.0.0.1", remote_port))


class Probe:
    """Both sockets' kernel states at named moments, with the time of each moment."""

    def __init__(self, cport: int, sport: int):
        self.cport, self.sport = cport, sport
        self.moments: list[tuple[str, float, EndpointState, EndpointState]] = []

    def __call__(self, name: str) -> None:
        time.sleep(SETTLE)
        self.moments.append((name, time.time(), kernel_state(self.cport, self.sport),
                             kernel_state(self.sport, self.cport)))

    def check(self, seg) -> None:
        assert self.moments
        for name, t, kc, ks in self.moments:
            before = seg[seg["ts"] < t]
            assert len(before), name
            last = before.iloc[-1]
            got = (last["state_after_client"], last["state_after_server"])
            assert got == (kc.name, ks.name), f"{name}: inferred {got}, kernel {kc.name, ks.name}"


def _pair(port: int):
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", port))
    lst.listen(1)
    cli = socket.create_connection(("127.0.0.1", port))
    srv, _ = lst.accept()
    lst.close()
    return cli, srv


def _run(tmp_path, port, steps):
    pcap = tmp_path / "truth.pcap"
    with tcpdump("lo", pcap, f"tcp port {port}"):
        cli, srv = _pair(port)
        probe = Probe(cli.getsockname()[1], port)
        probe("after the handshake")
        steps(cli, srv, probe)
    seg = tcpwatch.analyze(pcap)
    probe.check(seg)
    return probe, seg


def test_client_half_closes_then_server_closes(tmp_path):
    def steps(cli, srv, probe):
        cli.sendall(b"request")
        srv.recv(100)
        probe("after one message")
        cli.shutdown(socket.SHUT_WR)
        probe("after the client's shutdown")  # client FIN_WAIT_2, server CLOSE_WAIT
        assert srv.recv(100) == b""
        srv.sendall(b"still talking")  # half close: the server keeps sending
        cli.recv(100)
        probe("server sends into the half-closed connection")
        srv.close()
        probe("after the server's close")  # client TIME_WAIT, server gone (CLOSED)
        cli.close()
        probe("while in TIME_WAIT")

    probe, _ = _run(tmp_path, 61051, steps)
    states = {name: (kc, ks) for name, _, kc, ks in probe.moments}
    assert states["after the client's shutdown"] == (EndpointState.FIN_WAIT_2,
                                                     EndpointState.CLOSE_WAIT)
    assert states["while in TIME_WAIT"] == (EndpointState.TIME_WAIT, EndpointState.CLOSED)


def test_server_closes_first(tmp_path):
    def steps(cli, srv, probe):
        srv.close()
        probe("after the server's close")  # server FIN_WAIT_2, client CLOSE_WAIT
        cli.close()
        probe("after the client's close")  # server TIME_WAIT, client CLOSED

    probe, _ = _run(tmp_path, 61052, steps)
    assert probe.moments[1][2:] == (EndpointState.CLOSE_WAIT, EndpointState.FIN_WAIT_2)
    assert probe.moments[2][2:] == (EndpointState.CLOSED, EndpointState.TIME_WAIT)


def test_abort_with_rst(tmp_path):
    def steps(cli, srv, probe):
        cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        cli.close()
        probe("after the abort")  # both CLOSED

    probe, seg = _run(tmp_path, 61053, steps)
    assert probe.moments[-1][2:] == (EndpointState.CLOSED, EndpointState.CLOSED)
    assert seg.iloc[-1]["flag_str"] == "R."


@pytest.mark.parametrize("port", [61054])
def test_connection_refused(tmp_path, port):
    pcap = tmp_path / "refused.pcap"
    with tcpdump("lo", pcap, f"tcp port {port}"):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port))
        t = time.time() + SETTLE
        time.sleep(SETTLE)
    seg = tcpwatch.analyze(pcap)
    last = seg[seg["ts"] < t].iloc[-1]
    # no socket is left on either side, and nothing ever listened
    assert (last["state_after_client"], last["state_after_server"]) == ("CLOSED", "CLOSED")
