"""The load test's phases against one bundled server, and its report.

1. idle: the server's memory (PSS of its processes) with no client;
2. never-reader: one client sends without reading until the server stops taking data;
   the server's peak memory meanwhile (backpressure keeps it near idle);
3. half-close: a client floods, shuts down its sending side and reads nothing, while
   another client's echoes are timed (nothing may make them wait); then it reads, and
   every whole message it sent must come back;
4. concurrent: C clients x M messages of 1-64 KiB in random chunks, byte-exact, plus slow
   and abrupt clients; peak fds;
5. burst: B short connections at once, each one echo within a deadline;
6. the end: zombies left, and the exit code of SIGTERM.
"""

from __future__ import annotations

import resource
import socket
import struct
import time
from dataclasses import asdict, dataclass

from .clients import burst as burst_clients
from .clients import concurrent, flood, flood_frame, probe
from .server import Peak, ServerProcess, fd_count, memory_kib, zombies

LINGER_RST = struct.pack("ii", 1, 0)
HALF_CLOSE_GAP = 0.05  # s between the probes beside the half-closed client


@dataclass(frozen=True, slots=True)
class Options:
    clients: int = 200
    messages: int = 50
    slow: int = 10  # of the clients, trickling their messages
    abrupt: int = 10  # more clients, resetting connections mid-message (5 each)
    burst: int = 2000
    burst_timeout: float = 60.0
    flood_cap: int = 256 << 20  # the never-reader stops here if the server never pushes back
    flood_idle: float = 1.0  # s without progress that count as the server pushing back
    probes: int = 20
    backlog: int | None = None
    seed: int = 1
    timeout: float = 60.0  # per message of the concurrent clients


@dataclass
class Report:
    model: str
    echoes_ok: int = 0
    echoes_total: int = 0
    corrupt: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    peak_fds: int = 0
    burst_answered: int = 0
    burst_lost: int = 0
    burst_corrupt: int = 0
    burst_p50_ms: float = 0.0
    burst_p99_ms: float = 0.0
    idle_kib: int = 0
    never_reader_kib: int = 0
    never_reader_sent: int = 0
    half_close_delay_ms: float = 0.0
    probe_ms: float = 0.0  # the same echoes' slowest with no half-closed client
    half_close_echo_missing: int = 0  # bytes of the half-closed client's echo never received
    zombies: int = 0
    exit_code: int = 0
    dropped_warnings: int = 0


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values`` in ms; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _abort(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
    sock.close()


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    sock.setblocking(True)
    sock.settimeout(timeout)
    got = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            got += chunk
    except OSError:
        pass
    return bytes(got)


def _never_reader(r: Report, server: ServerProcess, o: Options) -> None:
    with Peak(lambda: memory_kib(server.pid)) as peak:
        s = socket.create_connection(server.addr)
        r.never_reader_sent = flood(s, o.flood_cap, o.flood_idle)
        time.sleep(0.2)
    _abort(s)
    r.never_reader_kib = peak.value


def _half_close(r: Report, server: ServerProcess, o: Options) -> None:
    """The probes run for ``probes`` x 50 ms from the half-close on: a server that
    blocks when it reads the EOF (or later, trying to flush) makes one of them wait."""
    r.probe_ms = percentile(probe(server.addr, o.probes, HALF_CLOSE_GAP), 1.0)
    frame = flood_frame()
    with socket.create_connection(server.addr) as h:
        sent = flood(h, 32 << 20, o.flood_idle, frame)
        h.shutdown(socket.SHUT_WR)
        r.half_close_delay_ms = percentile(probe(server.addr, o.probes, HALF_CLOSE_GAP), 1.0)
        want = frame * (sent // len(frame))
        got = _read_all(h, 30)
        r.half_close_echo_missing = len(want) - len(got) if got == want[:len(got)] else len(want)


def loadtest(model: str, o: Options) -> Report:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    r = Report(model)
    with ServerProcess(model, o.backlog) as server:
        time.sleep(0.3)
        r.idle_kib = memory_kib(server.pid)
        _never_reader(r, server, o)
        _half_close(r, server, o)
        with Peak(lambda: fd_count(server.pid), 0.25) as fds:
            t = concurrent(server.addr, o.clients, o.messages, slow=o.slow, abrupt=o.abrupt,
                           seed=o.seed, timeout=o.timeout)
            b = burst_clients(server.addr, o.burst, o.burst_timeout)
        r.echoes_ok, r.echoes_total, r.corrupt = t.ok, t.total, t.corrupt
        r.p50_ms, r.p99_ms = percentile(t.latencies, 0.5), percentile(t.latencies, 0.99)
        r.peak_fds = fds.value
        r.burst_answered, r.burst_lost, r.burst_corrupt = b.ok, b.failed, b.corrupt
        r.burst_p50_ms = percentile(b.latencies, 0.5)
        r.burst_p99_ms = percentile(b.latencies, 0.99)
        deadline = time.monotonic() + 5
        while zombies(server.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        r.zombies = zombies(server.pid)
        r.exit_code = server.stop()
        r.dropped_warnings = server.errors().count("dropped")
    return r


def render(r: Report) -> str:
    mib = 1024
    return "\n".join([
        f"loadtest {r.model}",
        f"  echoes ok/total      {r.echoes_ok}/{r.echoes_total}  corrupt {r.corrupt}  "
        f"p50 {r.p50_ms} ms  p99 {r.p99_ms} ms",
        f"  burst answered/lost  {r.burst_answered}/{r.burst_lost}  corrupt {r.burst_corrupt}"
        f"  p50 {r.burst_p50_ms} ms  p99 {r.burst_p99_ms} ms",
        f"  peak fds             {r.peak_fds}",
        f"  memory (PSS)         idle {r.idle_kib / mib:.1f} MiB, under a never-reader "
        f"{r.never_reader_kib / mib:.1f} MiB (it got {r.never_reader_sent / mib / mib:.1f} "
        "MiB in)",
        f"  half-closed client   slowest other echo {r.half_close_delay_ms} ms "
        f"(without it {r.probe_ms} ms), its echo missing {r.half_close_echo_missing} bytes",
        f"  zombies              {r.zombies}",
        f"  SIGTERM exit code    {r.exit_code}  (dropped-output warnings: "
        f"{r.dropped_warnings})",
    ])


def as_dict(r: Report) -> dict:
    return asdict(r)
