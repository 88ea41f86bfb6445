"""Record the decoder captures (captures/README.md): real kernel TCP between two network
namespaces, through a VXLAN tunnel, over IPv4 and IPv6 interleaved, logged by nftables to
NFLOG, and answered by ICMP errors (nftables reject).  Needs root; run from the repository:

    .venv/bin/python scripts/record_decoder_captures.py captures/
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tcpwatch.lab.scenarios.netns import Lab, ip, python_in, veth_lab
from tcpwatch.lab.scenarios.tcpdump import tcpdump

SERVER = textwrap.dedent("""
    import socket, sys, threading
    def serve(fam, addr, port):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port)); s.listen(64)
        while True:
            c, _ = s.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()
    def echo(c):
        try:
            while data := c.recv(65536):
                c.sendall(data)
        except OSError:
            pass
        c.close()
    for spec in sys.argv[1:]:
        fam, addr, port = spec.split(",")
        f = socket.AF_INET6 if fam == "6" else socket.AF_INET
        threading.Thread(target=serve, args=(f, addr, int(port)), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
""")

CLIENT = textwrap.dedent("""
    import socket, struct, sys, time
    # argv: [interleave] then family,addr,port ...: open all, talk in turns, close in turns
    socks = []
    for spec in sys.argv[1:]:
        fam, addr, port = spec.split(",")
        f = socket.AF_INET6 if fam == "6" else socket.AF_INET
        s = socket.socket(f, socket.SOCK_STREAM); s.settimeout(3)
        try:
            s.connect((addr, int(port)))
        except OSError as e:
            print("connect", spec, e, flush=True); s.close(); continue
        socks.append(s); time.sleep(0.05)
    for rnd in range(3):
        for s in socks:
            try:
                s.sendall(b"x" * (100 + rnd)); s.recv(4096)
            except OSError as e:
                print("talk", e, flush=True)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            time.sleep(0.02)
    for s in socks:
        s.close(); time.sleep(0.05)
    time.sleep(0.3)
""")


def _server(netns: str, *specs: str) -> subprocess.Popen:
    proc = subprocess.Popen(python_in(netns, "-c", SERVER, *specs), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the echo server did not start")
    return proc


def _client(netns: str, *specs: str) -> None:
    subprocess.run(python_in(netns, "-c", CLIENT, *specs), check=True, timeout=60)


def _add6(lab: Lab, subnet: int) -> tuple[str, str]:
    for host, n in ((lab.a, 1), (lab.b, 2)):
        ip("-6", "addr", "add", f"fd00:{subnet}::{n}/64", "dev", host.iface, "nodad",
           netns=host.netns)
    return f"fd00:{subnet}::1", f"fd00:{subnet}::2"


def _nft(netns: str, script: str) -> None:
    subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=script, text=True,
                   check=True)


def _record(lab: Lab, out: Path, server_specs: list[str], client_specs: list[str], *,
            iface: str | None = None, netns: str | None = None, snaplen: int = 256,
            bpf: str = "") -> None:
    server = _server(lab.b.netns, *server_specs)
    try:
        with tcpdump(iface or lab.b.link, out, bpf=bpf, netns=netns or lab.b.netns,
                     snaplen=snaplen or None):
            time.sleep(0.2)
            _client(lab.a.netns, *client_specs)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=5)


def vxlan(out: Path) -> None:
    """TCP over IPv4 and IPv6 inside VXLAN (UDP 4789) over IPv4 and over IPv6, beside a
    plain connection on the underlying veth, and one connection through a VXLAN device
    whose UDP source port is 53 (not decoded: DNS comes first)."""
    with veth_lab(171, tag="vx") as lab:
        a6, b6 = _add6(lab, 171)
        for host, local, remote, local6, remote6, n in (
                (lab.a, lab.a.addr, lab.b.addr, a6, b6, 1),
                (lab.b, lab.b.addr, lab.a.addr, b6, a6, 2)):
            ip("link", "add", "vx4", "type", "vxlan", "id", "42", "local", local, "remote",
               remote, "dstport", "4789", "dev", host.link, netns=host.netns)
            ip("link", "add", "vx6", "type", "vxlan", "id", "43", "local", local6, "remote",
               remote6, "dstport", "4789", "dev", host.link, netns=host.netns)
            # source port 53: tshark's UDP dissector tries the lower port first, so this
            # one is DNS to it (and to tcpwatch), not VXLAN
            ip("link", "add", "vxd", "type", "vxlan", "id", "44", "local", local, "remote",
               remote, "dstport", "4789", "srcport", "53", "54", "dev", host.link,
               netns=host.netns)
            for dev, inner, inner6 in (("vx4", f"10.172.0.{n}/24", f"fd00:172::{n}/64"),
                                       ("vx6", f"10.173.0.{n}/24", f"fd00:173::{n}/64"),
                                       ("vxd", f"10.178.0.{n}/24", f"fd00:178::{n}/64")):
                ip("addr", "add", inner, "dev", dev, netns=host.netns)
                ip("-6", "addr", "add", inner6, "dev", dev, "nodad", netns=host.netns)
                ip("link", "set", dev, "up", netns=host.netns)
        time.sleep(0.5)
        _record(lab, out, ["4,0.0.0.0,7000", "6,::,7000"],
                ["4,10.172.0.2,7000", "6,fd00:172::2,7000", "4,10.173.0.2,7000",
                 "6,fd00:173::2,7000", f"4,{lab.b.addr},7000", "4,10.178.0.2,7000"])


def interleaved(out: Path) -> None:
    """IPv6 and IPv4 connections opened, used and closed in turns (v6 first)."""
    with veth_lab(174, tag="il") as lab:
        _, b6 = _add6(lab, 174)
        time.sleep(0.3)
        specs = [f"6,{b6},7001", f"4,{lab.b.addr},7001", f"6,{b6},7002",
                 f"4,{lab.b.addr},7002"]
        _record(lab, out, ["4,0.0.0.0,7001", "6,::,7001", "4,0.0.0.0,7002", "6,::,7002"],
                specs)


def nflog(out: Path) -> None:
    """The server's nftables logs every TCP segment of port 7003 to NFLOG group 5 (input
    and output hooks), captured with ``tcpdump -i nflog:5`` (link
    type 239)."""
    with veth_lab(175, tag="nf") as lab:
        _, b6 = _add6(lab, 175)
        _nft(lab.b.netns, textwrap.dedent("""
            table inet tw {
              chain in { type filter hook input priority 0; tcp dport 7003 log group 5; }
              chain out { type filter hook output priority 0; tcp sport 7003 log group 5; }
            }"""))
        time.sleep(0.3)
        _record(lab, out, ["4,0.0.0.0,7003", "6,::,7003"],
                [f"4,{lab.b.addr},7003", f"6,{b6},7003"], iface="nflog:5",
                snaplen=0)  # libpcap's NFLOG reader loses frames with -s


def icmp_reject(out: Path, inbound_client: bool = False) -> None:
    """ICMP errors quoting TCP headers: SYNs to port 7005 rejected with ICMP / ICMPv6
    admin-prohibited, data segments to port 7006 rejected with host-unreachable (the
    connection then ends with an RST), beside a normal connection to port 7004.  Captured
    on the server's veth, or with ``inbound_client`` on the client's, inbound only (BPF
    ``inbound``): there a quote is the first sight of a refused connection's 4-tuple."""
    with veth_lab(176, tag="ic") as lab:
        _, b6 = _add6(lab, 176)
        data = "tcp dport 7006 tcp flags & psh == psh"
        _nft(lab.b.netns, textwrap.dedent(f"""
            table inet tw {{
              chain in {{
                type filter hook input priority 0;
                meta nfproto ipv4 tcp dport 7005 reject with icmp type admin-prohibited
                meta nfproto ipv6 tcp dport 7005 reject with icmpv6 type admin-prohibited
                meta nfproto ipv4 {data} reject with icmp type host-unreachable
                meta nfproto ipv6 {data} reject with icmpv6 type addr-unreachable
              }}
            }}"""))
        time.sleep(0.3)
        side = dict(iface=lab.a.link, netns=lab.a.netns, bpf="inbound") if inbound_client \
            else {}
        _record(lab, out, ["4,0.0.0.0,7004", "6,::,7004", "4,0.0.0.0,7006", "6,::,7006"],
                [f"4,{lab.b.addr},7004", f"4,{lab.b.addr},7005", f"6,{b6},7005",
                 f"4,{lab.b.addr},7006", f"6,{b6},7006", f"6,{b6},7004"], **side)


SYN_AFTER_RST = textwrap.dedent("""
    import select, socket, subprocess, sys, time
    from scapy.all import IP, TCP, AsyncSniffer, send
    iface, me, server = sys.argv[1:4]
    sniffer = AsyncSniffer(iface=iface, count=1,
                           filter="tcp dst port 7007 and tcp[tcpflags] & tcp-syn != 0")
    sniffer.start(); time.sleep(0.5)
    s = socket.socket(); s.bind((me, 40777)); s.setblocking(False)
    s.connect_ex((server, 7007))
    isn = sniffer.join(3) or sniffer.results[0][TCP].seq
    time.sleep(0.2)  # the SYN+ACK came back and was dropped on our input
    send(IP(src=me, dst=server) / TCP(sport=40777, dport=7007, flags="R", seq=isn + 1),
         verbose=False)
    subprocess.run(["nft", "delete", "table", "inet", "tw"], check=True)
    select.select([], [s], [], 5)  # the kernel's SYN retransmission connects
    s.setblocking(True); s.sendall(b"x" * 100); s.recv(4096); s.close()
    time.sleep(0.3)
""")


def syn_after_rst(out: Path) -> None:
    """A SYN, an RST for it, then the kernel's retransmission of the same SYN (same
    ISN): the client drops the first SYN+ACK (nftables, client input), a scapy RST from
    the client's address resets the server's half-open connection, the retransmitted SYN
    gets a SYN+ACK with a new ISN, and the connection runs.  tshark 4.0 keeps it all one
    stream; the second SYN+ACK re-bases the server's relative numbers from there on."""
    with veth_lab(177, tag="sr") as lab:
        _nft(lab.a.netns, textwrap.dedent("""
            table inet tw {
              chain in { type filter hook input priority 0;
                         tcp sport 7007 tcp flags & (syn | ack) == syn | ack drop; }
            }"""))
        server = _server(lab.b.netns, "4,0.0.0.0,7007")
        try:
            with tcpdump(lab.b.link, out, bpf="", netns=lab.b.netns, snaplen=256):
                time.sleep(0.2)
                subprocess.run(python_in(lab.a.netns, "-c", SYN_AFTER_RST, lab.a.link,
                                         lab.a.addr, lab.b.addr), check=True, timeout=30)
        finally:
            server.stdin.close()  # type: ignore[union-attr]
            server.wait(timeout=5)


RECORDINGS = {"vxlan_tunnel.pcap": vxlan, "ipv4_ipv6_interleaved.pcap": interleaved,
              "nflog_echo.pcap": nflog, "icmp_reject.pcap": icmp_reject,
              "icmp_reject_inbound.pcap": lambda out: icmp_reject(out, inbound_client=True),
              "syn_after_rst.pcap": syn_after_rst}


def main(argv: list[str]) -> None:
    out_dir = Path(argv[0]) if argv else Path("captures")
    names = argv[1:] or list(RECORDINGS)
    for name in names:
        RECORDINGS[name](out_dir / name)
        print(out_dir / name)


if __name__ == "__main__":
    main(sys.argv[1:])
