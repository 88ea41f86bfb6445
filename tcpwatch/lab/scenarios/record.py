"""Record a scenario: its network, its server(s), tcpdump, its driver -> a capture, its
golden annotation, and a line in captures/README.md."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...engine.pipeline import analyze
from ...errors import TcpwatchError
from ...report.bless import bless
from .crafted import run_zero_window_probe
from .netns import (
    Lab,
    delayed_lab,
    fixed_receive_buffers,
    nft,
    python_in,
    random_loss_on_input,
    set_offloads,
    veth_lab,
)
from .registry import SCENARIOS, Scenario, port_of
from .run import bundled_server
from .tcpdump import tcpdump

SNAPLEN = 96  # headers only: Ethernet + IPv4/IPv6 + TCP with options
DELAY = 0.1  # one-way delay of the "delay" lab


@dataclass(frozen=True, slots=True)
class Env:
    """Where a scenario runs: namespaces (None: this one), the server's address, where to
    capture."""

    client_ns: str | None
    server_ns: str | None
    server_host: str
    capture_ns: str | None
    capture_iface: str


@contextmanager
def environment(s: Scenario, subnet: int = 242) -> Iterator[Env]:
    if s.lab == "lo":
        yield Env(None, None, "127.0.0.1", None, "lo")
        return
    if s.lab == "lo6":
        yield Env(None, None, "::1", None, "lo")
        return
    with lab_of(s, subnet) as lab:
        at = lab.b if s.capture_at_server else lab.a
        yield Env(lab.a.netns, lab.b.netns, lab.b.addr, at.netns, at.link)


@contextmanager
def lab_of(s: Scenario, subnet: int = 242) -> Iterator[Lab]:
    factory = (veth_lab(subnet, tag="r") if s.lab == "veth"
               else delayed_lab(subnet, DELAY, tag="r", drop_every=s.relay_drop_every))
    with factory as lab:
        if s.lab == "veth":
            set_offloads(lab.a, on=False)
            set_offloads(lab.b, on=False)
        yield lab


def _drop_syns(netns: str, port: int) -> None:
    nft(netns, f"""
table inet twsyn {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {port} tcp flags & (syn | ack) == syn drop
  }}
}}
""")


def record(name: str, out_dir: Path) -> Path:
    """Record scenario ``name`` into ``out_dir``; returns the capture's path."""
    if name not in SCENARIOS:
        raise TcpwatchError(f"unknown scenario {name!r} (one of {', '.join(SCENARIOS)})")
    s = SCENARIOS[name]
    port = port_of(s)
    out_dir.mkdir(parents=True, exist_ok=True)
    pcap = out_dir / f"{name}.pcap"
    if s.crafted:
        _record_crafted(s, port, pcap)
    else:
        _record_bundled(s, port, pcap)
    bless(analyze(pcap), pcap, out_dir / f"{name}.expected.csv")
    _readme_line(out_dir, s)
    return pcap


def _record_crafted(s: Scenario, port: int, pcap: Path) -> None:
    """The crafted sender in namespace a, the stalled receiver in b; captured on b's
    veth (what the receiver's kernel sees)."""
    with tempfile.TemporaryDirectory() as tmp, lab_of(s) as lab:
        raw = Path(tmp) / "raw.pcap"
        with tcpdump(lab.b.link, raw, f"tcp port {port}", netns=lab.b.netns,
                     snaplen=SNAPLEN):
            run_zero_window_probe(lab, port)
        shutil.copyfile(raw, pcap)


def _record_bundled(s: Scenario, port: int, pcap: Path) -> None:
    name = s.name
    with tempfile.TemporaryDirectory() as tmp, environment(s) as env, ExitStack() as stack:
        if s.drop_syn:
            _drop_syns(env.server_ns, port)
        if s.loss_percent:
            random_loss_on_input(env.server_ns, s.loss_percent, port)
        if s.server_rcvbuf:
            fixed_receive_buffers(env.server_ns, s.server_rcvbuf)
        stack.enter_context(bundled_server(s.model, env.server_host, port,
                                           netns=env.server_ns, close_after=s.close_after))
        if s.second_model:
            stack.enter_context(bundled_server(s.second_model, env.server_host, port + 1,
                                               netns=env.server_ns))
        raw = Path(tmp) / "raw.pcap"
        with tcpdump(env.capture_iface, raw, f"tcp portrange {port}-{port + 1}",
                     netns=env.capture_ns, snaplen=SNAPLEN):
            res = subprocess.run(python_in(env.client_ns, "-m", "tcpwatch.lab.scenarios.drivers",
                                           name, env.server_host, str(port)),
                                 capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise TcpwatchError(f"scenario {name} failed: {res.stderr.strip()[-400:]}")
        shutil.copyfile(raw, pcap)


_LAB_TEXT = {
    "lo": "loopback 127.0.0.1",
    "lo6": "loopback ::1",
    "veth": "veth pair between two namespaces, offloads off",
    "delay": "veth pairs through a 100 ms-each-way relay namespace",
}


def _readme_line(out_dir: Path, s: Scenario) -> None:
    readme = out_dir / "README.md"
    text = readme.read_text() if readme.exists() else (
        "# captures/\n\n| capture | how it was made | what it shows |\n|---|---|---|\n")
    if s.crafted:
        how = (f"`tcpwatch record {s.name}`: {_LAB_TEXT[s.lab]}; sender crafted with scapy "
               "(`scenarios/probe_sender.py`, its kernel's RSTs dropped by nftables output) "
               "in one, a real socket with SO_RCVBUF 2048 that reads only when told "
               f"(`scenarios/crafted.py`) in the other; tcpdump -s {SNAPLEN} on the "
               "receiver's veth")
        return _write_line(readme, text, s, how)
    how = (f"`tcpwatch record {s.name}`: {_LAB_TEXT[s.lab]}, `{s.model}` server"
           + (f" `--close-after {s.close_after}`" if s.close_after else "")
           + (f" (+ `{s.second_model}` on port+1)" if s.second_model else "")
           + (f", {s.loss_percent} % random loss (nftables, server input)"
              if s.loss_percent else "")
           + (", SYNs dropped (nftables, server input)" if s.drop_syn else "")
           + (f", server's receive buffers fixed at {s.server_rcvbuf} bytes (its namespace's "
              "`net.ipv4.tcp_rmem`, no autotuning)" if s.server_rcvbuf else "")
           + (f", the relay drops every {s.relay_drop_every}th data frame to the server"
              if s.relay_drop_every else "")
           + (", captured on the server's veth" if s.capture_at_server else "")
           + f", tcpdump -s {SNAPLEN}")
    _write_line(readme, text, s, how)


def _write_line(readme: Path, text: str, s: Scenario, how: str) -> None:
    line = f"| `{s.name}.pcap` | {how} | {s.shows} |"
    pattern = re.compile(rf"^\| `{re.escape(s.name)}\.pcap` \|.*$", re.M)
    if pattern.search(text):
        text = pattern.sub(line.replace("\\", "\\\\"), text)
    else:
        lines = text.splitlines()
        rows = [i for i, ln in enumerate(lines) if ln.startswith("|")]
        at = rows[-1] + 1 if rows else len(lines)
        lines.insert(at, line)
        text = "\n".join(lines) + "\n"
    readme.write_text(text)
