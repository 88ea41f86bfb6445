"""A seed -> a plan of traffic: which connections, when, and how each one behaves.

Pure: the same seed and profile always give the same plan (``random.Random(seed)``);
nothing here touches a socket.  The peers (``peers.py``) play the plan, both sides
reading the same JSON, so the server knows what each client port will do.

A connection is a few request/response exchanges, then a close chosen among
:data:`CLOSERS`; its options make the kernel do the rest (small receive buffers and
readers that pause give zero windows, SO_KEEPALIVE with a 1 s idle gives keep-alives,
SO_LINGER 0 gives an RST).  A plan adds what acts on every connection: the address
families, random loss on each receiver's input hook, a rate limit, offloads.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field

# Ports with no Wireshark dissector (``tshark -G decodes``), so tshark's view of every
# segment is TCP's alone.
SERVER_PORT = 40000  # the listeners (IPv4 and IPv6)
CLOSED_PORT = 40001  # nobody listens: connection refused
DROP_PORT = 40002  # the server's input hook drops every segment: the handshake times out
FIRST_CLIENT_PORT = 58000  # + the connection's id; bound explicitly
EPHEMERAL_PORTS = (40100, 44300)  # the client's own choice (refused, dropped handshakes)

#: how an exchange connection ends
CLOSERS = (
    "client",  # the client closes after its last response; the server closes on EOF
    "server",  # the server closes after its last response; the client closes on EOF
    "both",  # each closes right after the last response, neither waits for the other
    "half_close",  # the client shuts down its sending side before reading the response
    "client_rst",  # the client closes with SO_LINGER 0 (RST)
    "server_rst",  # the server closes with SO_LINGER 0 (RST)
    "abandon",  # the client closes without reading the response (RST on unread data)
)
KINDS = ("exchange", "refused", "syn_dropped")
#: every behaviour a plan can hold (Plan.behaviours names them)
BEHAVIOURS = (
    "ipv4", "ipv6", *(f"close:{c}" for c in CLOSERS), "refused", "syn_dropped",
    "port_reuse", "empty", "bulk", "client_zero_window", "server_zero_window",
    "keepalive", "loss_to_server", "loss_to_client", "rate_limit", "offloads", "burst",
    "both_at_once",
)


@dataclass(frozen=True, slots=True)
class Profile:
    """How big plans get."""

    name: str
    conns: tuple[int, int]  # connections besides a burst
    spread_s: float  # connections start within this many seconds
    burst: tuple[int, int]  # connections started at once, when a plan has a burst
    burst_chance: float
    series: tuple[int, int]  # connections of a series that close both at once
    bulk_bytes: tuple[int, int]  # size of a bulk message
    max_bytes: int  # all messages of a plan together (before the rate limit's cap)
    keepalive_s: tuple[float, float]
    pause_s: tuple[float, float]


PROFILES = {
    "short": Profile("short", (8, 30), 2.0, (40, 120), 0.3, (15, 40), (30_000, 300_000),
                     3_000_000, (1.2, 2.2), (0.3, 1.0)),
    "long": Profile("long", (20, 250), 8.0, (300, 1500), 0.3, (30, 200), (50_000, 2_000_000),
                    30_000_000, (1.2, 3.5), (0.3, 2.5)),
}


@dataclass(frozen=True, slots=True)
class Conn:
    id: int
    kind: str  # one of KINDS
    family: int  # 4 or 6
    cport: int  # the client's port, bound explicitly (a reused one is shared)
    start: float  # seconds after the plan starts (after the previous one, when reusing)
    exchanges: tuple[tuple[int, int], ...] = ()  # (request bytes, response bytes)
    closer: str = "client"  # one of CLOSERS
    close_delay: tuple[float, float] = (0.0, 0.0)  # client's, server's wait before closing
    client_rcvbuf: int = 0  # SO_RCVBUF of the client (0: the kernel's default)
    client_pause: float = 0.0  # the client waits this long before reading each response
    server_rcvbuf: int = 0
    server_pause: float = 0.0  # the server waits this long before reading each request
    keepalive_s: float = 0.0  # idle with SO_KEEPALIVE (1 s) after the exchanges
    reuses: int = -1  # id of the connection whose client port this one binds again


@dataclass(frozen=True, slots=True)
class Plan:
    seed: int
    profile: str
    families: tuple[int, ...]
    loss_to_server: int  # percent of segments dropped on the server's input hook
    loss_to_client: int  # ... on the client's
    rate_kbit: int  # tbf on the server's egress (0: none)
    offloads: bool  # TSO/GSO/GRO on the veth ends (off: MSS-sized segments)
    conns: tuple[Conn, ...] = field(default=())

    def behaviours(self) -> set[str]:
        """The names (from :data:`BEHAVIOURS`) of what this plan does."""
        out = {f"ipv{f}" for f in self.families}
        for flag, name in ((self.loss_to_server, "loss_to_server"),
                           (self.loss_to_client, "loss_to_client"),
                           (self.rate_kbit, "rate_limit"), (self.offloads, "offloads")):
            if flag:
                out.add(name)
        starts: dict[float, int] = {}
        at_once = 0
        for c in self.conns:
            if c.kind != "exchange":
                out.add(c.kind)
                continue
            out.add(f"close:{c.closer}")
            if c.reuses >= 0:
                out.add("port_reuse")
            if not c.exchanges:
                out.add("empty")
            if any(max(x) >= 50_000 for x in c.exchanges):
                out.add("bulk")
            if c.client_pause and c.client_rcvbuf:
                out.add("client_zero_window")
            if c.server_pause and c.server_rcvbuf:
                out.add("server_zero_window")
            if c.keepalive_s:
                out.add("keepalive")
            at_once += c.closer == "both" and c.close_delay == (0.0, 0.0)
            if c.reuses < 0:
                starts[c.start] = starts.get(c.start, 0) + 1
        if starts and max(starts.values()) >= 20:
            out.add("burst")
        if at_once >= 10:
            out.add("both_at_once")
        return out

    def duration(self) -> float:
        """A rough upper bound of how long the peers play, in seconds, without loss."""
        rate = self.rate_kbit * 125 or 50_000_000  # bytes/s
        end = 0.0
        chain: dict[int, float] = {}
        for c in self.conns:
            t = sum(sum(x) for x in c.exchanges) / rate + len(c.exchanges) * (
                c.client_pause + c.server_pause) + c.keepalive_s + max(c.close_delay) + 0.2
            if c.kind == "syn_dropped":
                t = SYN_DROP_TIMEOUT
            begin = chain.get(c.reuses, 0.0) + c.start
            chain[c.id] = begin + t
            end = max(end, begin + t)
        return end

    def to_json(self) -> str:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        names = [f.name for f in dataclasses.fields(Conn)]
        d["conns"] = [{n: getattr(c, n) for n in names} for c in self.conns]
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        d = json.loads(text)
        conns = tuple(Conn(**{**c, "exchanges": tuple(tuple(x) for x in c["exchanges"]),
                              "close_delay": tuple(c["close_delay"])}) for c in d.pop("conns"))
        return cls(**{**d, "families": tuple(d["families"]), "conns": conns})


SYN_DROP_TIMEOUT = 2.5  # the client gives up its handshake after this many seconds


def plan(seed: int, profile: str = "long") -> Plan:
    """The plan of ``seed`` (deterministic)."""
    p = PROFILES[profile]
    rng = random.Random(seed)
    families = rng.choice(((4,), (6,), (4, 6)))
    loss_to_server = rng.choice((0, 0, 1, 2, 4))
    loss_to_client = rng.choice((0, 0, 1, 2, 4))
    rate_kbit = rng.choice((0, 0, 0, 2_000, 10_000, 50_000))
    offloads = rng.random() < 0.3
    budget = p.max_bytes if not rate_kbit else min(p.max_bytes, rate_kbit * 125 * 8)
    conns: list[Conn] = []
    n = rng.randint(*p.conns)
    for _ in range(n):
        start = round(rng.uniform(0, p.spread_s), 3)
        conns.append(_conn(rng, p, len(conns), rng.choice(families), start, budget))
        budget -= sum(sum(x) for x in conns[-1].exchanges)
    if rng.random() < 0.35:  # the echo pattern, one connection after another:
        at = rng.uniform(0, p.spread_s)  # each end closes as soon as its part is done
        for i in range(rng.randint(*p.series)):
            ex = ((rng.randint(1, 500), rng.randint(1, 500)),)
            conns.append(Conn(len(conns), "exchange", rng.choice(families), 0,
                              round(at + i * 0.01, 3), ex, "both", (0.0, 0.0)))
    if rng.random() < p.burst_chance:
        at = round(rng.uniform(0, p.spread_s), 3)
        for _ in range(rng.randint(*p.burst)):
            conns.append(_tiny(rng, p, len(conns), rng.choice(families), at))
    conns += _reuses(rng, conns)
    conns = [c if c.reuses >= 0 else _port(c) for c in conns]
    by_id = {c.id: c for c in conns}
    conns = [c if c.reuses < 0 else _same_port(c, by_id[c.reuses]) for c in conns]
    return Plan(seed, profile, families, loss_to_server, loss_to_client, rate_kbit, offloads,
                tuple(conns))


def _port(c: Conn) -> Conn:
    return _replace(c, cport=FIRST_CLIENT_PORT + c.id)


def _same_port(c: Conn, first: Conn) -> Conn:
    return _replace(c, cport=first.cport, family=first.family)


def _replace(c: Conn, **kw) -> Conn:
    return dataclasses.replace(c, **kw)


def _size(rng: random.Random, p: Profile, budget: int) -> int:
    kind = rng.random()
    if kind < 0.25:
        size = rng.randint(1, 100)
    elif kind < 0.75:
        size = rng.randint(100, 20_000)
    else:
        size = rng.randint(*p.bulk_bytes)
    return max(1, min(size, budget // 4))


def _conn(rng: random.Random, p: Profile, cid: int, family: int, start: float,
          budget: int) -> Conn:
    kind = rng.choices(KINDS, weights=(0.9, 0.05, 0.05))[0]
    if kind != "exchange":
        return Conn(cid, kind, family, 0, start)
    n_ex = rng.choice((0, 1, 1, 1, 2, 3, 5))
    exchanges = tuple((_size(rng, p, budget), rng.choice((0, _size(rng, p, budget))))
                      for _ in range(n_ex))
    closer = rng.choice(CLOSERS)
    delays = (rng.choice((0.0, round(rng.uniform(0, 0.05), 3))),
              rng.choice((0.0, round(rng.uniform(0, 0.05), 3))))
    if closer == "both" and rng.random() < 0.5:
        delays = (0.0, 0.0)  # both at once: the FINs may cross
    kw: dict = {}
    if rng.random() < 0.15:  # the client's window closes while the server sends
        kw.update(client_rcvbuf=rng.choice((2048, 4096, 8192)),
                  client_pause=round(rng.uniform(*p.pause_s), 3))
    if rng.random() < 0.1:  # the server's, while the client sends
        kw.update(server_rcvbuf=rng.choice((2048, 4096, 8192)),
                  server_pause=round(rng.uniform(*p.pause_s), 3))
    if rng.random() < 0.15:
        kw.update(keepalive_s=round(rng.uniform(*p.keepalive_s), 3))
    return Conn(cid, kind, family, 0, start, exchanges, closer, delays, **kw)


def _tiny(rng: random.Random, p: Profile, cid: int, family: int, start: float) -> Conn:
    """A connection of a burst: one small exchange, held open for a moment so that the
    burst's connections are open together."""
    hold = round(rng.uniform(0.2, 1.5), 3)
    ex = ((rng.randint(1, 300), rng.randint(0, 300)),)
    return Conn(cid, "exchange", family, 0, start, ex, rng.choice(CLOSERS),
                (hold, rng.choice((0.0, hold))))


def _reuses(rng: random.Random, conns: list[Conn]) -> list[Conn]:
    """A few connections bind the client port of an earlier one again once it is over.
    Only after a close that leaves the client no TIME_WAIT (the server closed first, or
    an RST), so the kernel lets the port be bound."""
    free = [c for c in conns if c.kind == "exchange" and c.closer in (
        "server", "client_rst", "abandon", "server_rst")]
    out = []
    for first in rng.sample(free, min(len(free), rng.randint(0, 3))):
        cid = len(conns) + len(out)
        out.append(_replace(_conn(rng, PROFILES["short"], cid, first.family,
                                  round(rng.uniform(0.05, 0.5), 3), 100_000),
                            kind="exchange", reuses=first.id))
    return out
