"""Throw-away test hosts: two network namespaces joined by a veth pair.

Everything is created under names unique to this process and removed on exit, even on
failure.  Addresses are private (10.x / fd00::/8) and live only inside the namespaces, so
no traffic can leave the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ...errors import TcpwatchError


def ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise TcpwatchError(f"{' '.join(cmd)}: {res.stderr.strip()}")
    return res


def in_netns(netns: str | None, argv: Sequence[str]) -> list[str]:
    """The command line that runs ``argv`` inside ``netns`` (unchanged when None)."""
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


def python_in(netns: str | None, *args: str) -> list[str]:
    return in_netns(netns, [sys.executable, *args])


@dataclass(frozen=True, slots=True)
class Host:
    netns: str
    iface: str  # the interface carrying the address (the VLAN one when tagged)
    link: str  # the veth itself (capture here to see VLAN tags)
    addr: str


@dataclass(frozen=True, slots=True)
class Lab:
    a: Host
    b: Host


def _uid() -> str:
    return f"{os.getpid() % 100000}"


@contextmanager
def veth_lab(subnet: int = 231, *, vlan: int | None = None, ipv6: bool = False,
             tag: str = "") -> Iterator[Lab]:
    """Two namespaces ``a`` and ``b`` with one veth between them.

    ``subnet`` picks 10.<subnet>.0.0/24 (or fd00:<subnet>::/64 with ``ipv6``);
    ``vlan`` puts the addresses on 802.1Q sub-interfaces of the veth ends.
    """
    uid = _uid() + tag
    ns_a, ns_b = f"twa{uid}", f"twb{uid}"
    veth_a, veth_b = f"twva{uid}"[:15], f"twvb{uid}"[:15]
    made: list[str] = []
    try:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
            made.append(ns)
            ip("link", "set", "lo", "up", netns=ns)
        ip("link", "add", veth_a, "netns", ns_a, "type", "veth", "peer", "name", veth_b,
           "netns", ns_b)
        hosts = []
        for ns, veth, n in ((ns_a, veth_a, 1), (ns_b, veth_b, 2)):
            ip("link", "set", veth, "up", netns=ns)
            iface = veth
            if vlan is not None:
                iface = f"{veth[:10]}.{vlan}"
                ip("link", "add", "link", veth, "name", iface, "type", "vlan", "id", str(vlan),
                   netns=ns)
                ip("link", "set", iface, "up", netns=ns)
            if ipv6:
                addr = f"fd00:{subnet}::{n}"
                ip("-6", "addr", "add", f"{addr}/64", "dev", iface, "nodad", netns=ns)
            else:
                addr = f"10.{subnet}.0.{n}"
                ip("addr", "add", f"{addr}/24", "dev", iface, netns=ns)
            hosts.append(Host(ns, iface, veth, addr))
        yield Lab(hosts[0], hosts[1])
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextmanager
def delayed_lab(subnet: int, delay: float, tag: str = "", drop_every: int = 0
                ) -> Iterator[Lab]:
    """Hosts ``a`` and ``b`` on one subnet, joined through a third namespace where a
    userspace relay (``relay.py``) delays every frame by ``delay`` seconds each way
    (and drops every ``drop_every``-th data frame from ``a`` to ``b``)."""
    uid = _uid() + tag
    ns_a, ns_r, ns_b = f"twa{uid}", f"twr{uid}", f"twb{uid}"
    made: list[str] = []
    relay = None
    try:
        for ns in (ns_a, ns_r, ns_b):
            subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
            made.append(ns)
            ip("link", "set", "lo", "up", netns=ns)
        ends = (("twda" + uid)[:15], ("twdr" + uid)[:15], ("twds" + uid)[:15],
                ("twdb" + uid)[:15])
        ip("link", "add", ends[0], "netns", ns_a, "type", "veth", "peer", "name", ends[1],
           "netns", ns_r)
        ip("link", "add", ends[2], "netns", ns_r, "type", "veth", "peer", "name", ends[3],
           "netns", ns_b)
        for ns, dev in ((ns_a, ends[0]), (ns_r, ends[1]), (ns_r, ends[2]), (ns_b, ends[3])):
            ip("link", "set", dev, "up", netns=ns)
        for dev in ends[1:3]:
            ip("link", "set", dev, "promisc", "on", netns=ns_r)
        hosts = []
        for ns, dev, n in ((ns_a, ends[0], 1), (ns_b, ends[3], 2)):
            addr = f"10.{subnet}.0.{n}"
            ip("addr", "add", f"{addr}/24", "dev", dev, netns=ns)
            host = Host(ns, dev, dev, addr)
            set_offloads(host, on=False, checksum=True)
            hosts.append(host)
        relay = subprocess.Popen(python_in(ns_r, "-m", "tcpwatch.lab.scenarios.relay", ends[1],
                                           ends[2], "--delay", str(delay),
                                           "--drop-every", str(drop_every)),
                                 stdout=subprocess.PIPE, text=True)
        assert relay.stdout is not None
        if relay.stdout.readline().strip() != "ready":
            raise TcpwatchError("the delay relay did not start")
        yield Lab(hosts[0], hosts[1])
    finally:
        if relay is not None:
            relay.terminate()
            relay.wait()
            if relay.stdout:
                relay.stdout.close()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def set_offloads(host: Host, on: bool, checksum: bool = False) -> None:
    """Segmentation offloads on a veth end (off: the wire shows MSS-sized segments).
    ``checksum`` also turns transmit checksumming off, so captured frames carry real
    checksums (needed when a relay re-sends them)."""
    state = "on" if on else "off"
    args = ["tso", state, "gso", state, "gro", state]
    if checksum:
        args += ["tx", state]
    subprocess.run(in_netns(host.netns, ["ethtool", "-K", host.link, *args]),
                   capture_output=True, check=False)


def nft(netns: str | None, ruleset: str) -> None:
    """Load an nftables ruleset inside ``netns`` (None: this namespace)."""
    res = subprocess.run(in_netns(netns, ["nft", "-f", "-"]), input=ruleset, text=True,
                         capture_output=True)
    if res.returncode != 0:
        raise TcpwatchError(f"nft in {netns}: {res.stderr.strip()}")


def sysctl(netns: str | None, *settings: str) -> None:
    """Set ``name=value`` kernel settings inside ``netns`` (None: this namespace); only
    per-namespace ones (net.ipv4.tcp_*, ...) stay inside it."""
    for setting in settings:
        res = subprocess.run(in_netns(netns, ["sysctl", "-q", "-w", setting]),
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise TcpwatchError(f"sysctl {setting} in {netns}: {res.stderr.strip()}")


def fixed_receive_buffers(netns: str, size: int) -> None:
    """Every TCP receive buffer in ``netns`` is ``size`` bytes and never autotuned
    (``net.ipv4.tcp_rmem``, per namespace). The receive window then stops growing once
    it reaches its clamp, so the ACKs a receiver repeats after a loss carry an unchanged
    window: Wireshark's duplicate ACKs, not window updates."""
    sysctl(netns, f"net.ipv4.tcp_rmem={size} {size} {size}", "net.ipv4.tcp_moderate_rcvbuf=0")


def random_loss_on_input(netns: str, percent: float, port: int) -> None:
    """Drop ``percent`` % (to 0.01 %) of TCP segments to ``port`` arriving in ``netns``
    (receiver side, so the sender really sent them and the wire shows the loss)."""
    nft(netns, f"""
table inet twloss {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {port} numgen random mod 10000 < {round(percent * 100)} drop
  }}
}}
""")
