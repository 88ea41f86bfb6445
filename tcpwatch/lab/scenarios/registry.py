"""The scenarios: name -> how to produce it (network, server, driver) and what it shows.

Each scenario is one TCP behaviour, named after it (as Zeek's btests are); the client
side lives in ``drivers.py``, the server is a bundled one (``tcpwatch serve``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    lab: str  # "lo" (127.0.0.1), "lo6" (::1), "veth" (two namespaces), "delay" (+100 ms relay)
    model: str  # bundled server model
    shows: str  # what the capture shows, for captures/README.md
    close_after: int | None = None  # the server closes first after N echoes
    second_model: str | None = None  # another server on port + 1
    loss_percent: int = 0  # random drops of segments arriving at the server (nftables)
    drop_syn: bool = False  # drop every SYN arriving at the server (nftables)
    server_rcvbuf: int = 0  # the server's namespace: receive buffers fixed at N bytes
    relay_drop_every: int = 0  # "delay" lab: the relay drops every Nth data frame to b
    capture_at_server: bool = False  # capture on the server's veth instead of the client's
    crafted: bool = False  # the client is crafted_sender (scapy) against a stalled receiver
    port_offset: int = 0  # each scenario has its own port: BASE_PORT + 2 * index


SCENARIOS: dict[str, Scenario] = {}


def _add(*scenarios: Scenario, first: int = 0) -> None:
    for i, s in enumerate(scenarios, start=first):
        SCENARIOS[s.name] = replace(s, port_offset=2 * i)


_add(
    Scenario("handshake_echo_close", "lo", "thread",
             "three-way handshake, three echoes, the client closes first (four-way teardown)"),
    Scenario("server_closes_first", "lo", "thread",
             "the server closes after one echo (--close-after 1); the client's FIN follows",
             close_after=1),
    Scenario("half_close", "lo", "select",
             "the client sends 200 kB and shuts down its sending side (FIN) at once; the "
             "server keeps sending its echo into the half-closed connection, then closes"),
    Scenario("simultaneous_close", "delay", "thread",
             "both FINs are sent before either arrives (100 ms each way through a relay): "
             "FIN_WAIT_1 -> CLOSING on both ends", close_after=1),
    Scenario("rst_abort", "lo", "nonblock",
             "one echo, then the client closes with SO_LINGER 0: an RST, no FIN from it"),
    Scenario("connection_refused", "lo", "thread",
             "a SYN to a port nobody listens on, answered by RST/ACK"),
    Scenario("syn_timeout", "veth", "thread",
             "every SYN dropped on the server's input hook: the SYN is retransmitted once a "
             "second (Linux's tcp_syn_linear_timeouts), never answered", drop_syn=True),
    Scenario("zero_window", "lo", "thread",
             "a 4 kB receive buffer and a reader pausing 1.5 s: the client's window falls to "
             "zero, the server probes, then a window update reopens it"),
    Scenario("window_full", "lo", "thread",
             "a slow reader (4 kB every 10 ms): the server's data fills the advertised "
             "window"),
    Scenario("lossy_bulk", "veth", "select",
             "600 kB echoed over a veth pair dropping 3 % of what reaches the server: "
             "retransmissions, duplicate ACKs, SACK blocks", loss_percent=3,
             server_rcvbuf=131072),
    Scenario("keepalive", "lo", "thread",
             "SO_KEEPALIVE with 1 s idle and interval: three keep-alive probes and their "
             "ACKs on an idle connection"),
    Scenario("port_reuse", "lo", "thread",
             "two connections from the same client port: the second SYN reuses the 4-tuple "
             "(a new tcp.stream)"),
    Scenario("many_short", "lo", "fork",
             "200 one-echo connections to the fork server and 200 to the thread server",
             second_model="thread"),
    Scenario("ipv6_echo", "lo6", "select", "handshake, three echoes and close over IPv6 (::1)"),
    Scenario("echo_both_close", "lo", "select",
             "200 connections in a row: the client sends one message, reads the echo and "
             "closes while the server closes right after echoing (--close-after 1): either "
             "end may close first", close_after=1),
)

# Flags no plain echo raises: their own block of ports (BASE_PORT + 80 on), so scenarios
# added to the list above do not move them (a committed capture is checked on its port).
_add(
    Scenario("spurious_retransmission", "veth", "thread",
             "on three connections, a 3 kB message while everything from the server is "
             "dropped on the client's input hook for 1.5 s (nftables, after the capture tap): the "
             "client's tail-loss probe and RTO resend data the server had already ACKed on "
             "the wire ([TCP Spurious Retransmission])"),
    Scenario("upstream_loss", "delay", "select",
             "400 kB echoed through the 100 ms relay, which drops every 20th data frame "
             "from the client before the server's capture point: [TCP Previous segment "
             "not captured] on the server's side, and the retransmissions arrive "
             "[TCP Out-Of-Order] (within an initial RTT of the newest segment)",
             relay_drop_every=20, capture_at_server=True),
    Scenario("zero_window_probe", "veth", "stalled",
             "a sender crafted with scapy probes a real receiver's zero window as Windows "
             "and BSD do (one byte of new data at the window edge, doubling timer): six "
             "[TCP ZeroWindowProbe] and six [TCP ZeroWindowProbeAck]; then the receiver "
             "reads, a window update reopens the window, the sender finishes and closes",
             crafted=True),
    first=40,
)

# The bundled servers' own behaviour under abuse (issue 15): from BASE_PORT + 120 on.
_add(
    Scenario("backpressure", "lo", "select",
             "a client sends 64 KiB messages and reads nothing: its own window closes, the "
             "select server stops reading it at 64 KiB of unsent echo (backpressure), so "
             "the server's receive window falls to zero too and each kernel probes the "
             "other's ([TCP ZeroWindow], [TCP Keep-Alive]); 2 s later the client reads, "
             "the server drains, reads again and its window updates reopen the flow; "
             "every byte is echoed"),
    first=60,
)

BASE_PORT = 61100  # above Linux's ephemeral range (32768-60999): no clash with client ports


def port_of(s: Scenario) -> int:
    return BASE_PORT + s.port_offset
