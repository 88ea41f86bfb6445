"""Play a plan with real kernel sockets between two network namespaces and capture it.

The lab is ``scenarios.netns.veth_lab``: the client in namespace ``a``, the server in
``b``, addresses 10.<subnet>.0.x and fd00:<subnet>::x on the veth pair only, so no
traffic leaves the namespaces.  Loss is dropped on each receiver's input hook
(nftables), so the capture on the client's veth end shows what was really sent; the
rate limit is a tbf qdisc on the server's end.  tcpdump records the client's end,
headers only.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ...errors import TcpwatchError
from ..scenarios.netns import Host, in_netns, ip, nft, python_in, set_offloads, sysctl, veth_lab
from ..scenarios.tcpdump import tcpdump
from .mix import DROP_PORT, EPHEMERAL_PORTS, SERVER_PORT, Plan

SNAPLEN = 128  # Ethernet + IPv6 + the longest TCP header: every option is kept
SUBNET = 77


@dataclass(frozen=True, slots=True)
class Played:
    pcap: Path
    seconds: float  # how long the peers played
    client: dict[str, int]  # how the client's connections ended (peers.py counters)
    server: dict[str, int]


def _addresses(host: Host, n: int, families: tuple[int, ...]) -> tuple[str, str]:
    """The host's IPv4 and IPv6 addresses ('' for a family the plan does not use); the
    lab made one of them, the other is added here."""
    v4, v6 = f"10.{SUBNET}.0.{n}", f"fd00:{SUBNET}::{n}"
    if 4 in families and 6 in families:
        ip("-6", "addr", "add", f"{v6}/64", "dev", host.iface, "nodad", netns=host.netns)
    return (v4 if 4 in families else "", v6 if 6 in families else "")


def _loss_rules(plan: Plan, client_ns: str, server_ns: str) -> None:
    nft(server_ns, f"""
table inet twdiff {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {DROP_PORT} drop
    {f"tcp dport {SERVER_PORT} numgen random mod 100 < {plan.loss_to_server} drop"
     if plan.loss_to_server else ""}
  }}
}}
""")
    if plan.loss_to_client:
        nft(client_ns, f"""
table inet twdiff {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp sport {SERVER_PORT} numgen random mod 100 < {plan.loss_to_client} drop
  }}
}}
""")


def _rate_limit(host: Host, kbit: int) -> None:
    burst = max(16_000, kbit * 125 // 100)  # bytes: 10 ms worth, at least a few segments
    res = subprocess.run(in_netns(host.netns, [
        "tc", "qdisc", "add", "dev", host.link, "root", "tbf", "rate", f"{kbit}kbit",
        "burst", str(burst), "latency", "200ms"]), capture_output=True, text=True)
    if res.returncode != 0:
        raise TcpwatchError(f"tc tbf: {res.stderr.strip()}")


def _counters(out: str) -> dict[str, int]:
    lines = out.strip().splitlines()
    try:
        return json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        return {"unreadable": 1}


def play(plan: Plan, workdir: Path) -> Played:
    """Play ``plan``; the capture is ``workdir/seed<N>.pcap``."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan_file = workdir / f"seed{plan.seed}.json"
    plan_file.write_text(plan.to_json())
    pcap = workdir / f"seed{plan.seed}.pcap"
    with veth_lab(SUBNET, ipv6=plan.families == (6,), tag="d") as lab:
        _addresses(lab.a, 1, plan.families)  # the client binds the wildcard address
        sysctl(lab.a.netns, "net.ipv4.ip_local_port_range=" + " ".join(map(str, EPHEMERAL_PORTS)))
        server_addrs = _addresses(lab.b, 2, plan.families)
        for host in (lab.a, lab.b):
            set_offloads(host, on=plan.offloads)
        _loss_rules(plan, lab.a.netns, lab.b.netns)
        if plan.rate_kbit:
            _rate_limit(lab.b, plan.rate_kbit)
        if 6 in plan.families:
            time.sleep(0.1)  # the IPv6 route and neighbour come up
        server = subprocess.Popen(
            python_in(lab.b.netns, "-m", "tcpwatch.lab.difftest.peers", "serve", str(plan_file),
                      *server_addrs), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise TcpwatchError(f"difftest server did not start: {server.stderr.read()}")
            t0 = time.monotonic()
            with tcpdump(lab.a.link, pcap, "tcp", netns=lab.a.netns, snaplen=SNAPLEN):
                try:
                    res = subprocess.run(
                        python_in(lab.a.netns, "-m", "tcpwatch.lab.difftest.peers", "client",
                                  str(plan_file), *server_addrs),
                        capture_output=True, text=True, timeout=plan.duration() * 3 + 180)
                except subprocess.TimeoutExpired as exc:
                    raise TcpwatchError(f"difftest client of seed {plan.seed} hung") from exc
                if res.returncode != 0:
                    raise TcpwatchError(f"difftest client failed: {res.stderr.strip()[-500:]}")
                time.sleep(0.5)  # the server's last FINs and ACKs
            seconds = time.monotonic() - t0
        finally:
            server.terminate()
            try:
                out, _ = server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                out, _ = server.communicate()
    return Played(pcap, seconds, _counters(res.stdout), _counters(out))
