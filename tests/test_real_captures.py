"""Real kernel TCP captured by tcpdump (and dumpcap) in the ways the reader must handle,
each compared with tshark frame for frame."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import tcpwatch
from tcpwatch.lab.scenarios.netns import ip, python_in, set_offloads, veth_lab
from tcpwatch.lab.scenarios.run import client, server
from tcpwatch.lab.scenarios.tcpdump import tcpdump
from tcpwatch.report.parity import compare_with_tshark

from .conftest import needs_root, needs_tshark

pytestmark = [needs_root, needs_tshark]


def _assert_parity(path):
    seg = tcpwatch.analyze(path)
    diff = compare_with_tshark(seg, path)
    assert diff.empty, diff.head(20).to_string()
    return seg


def _echo_conns(seg, n):
    """n connections, each with a full handshake and FINs both ways, data echoed."""
    assert seg["conn"].nunique() == n
    for _, c in seg.groupby("conn"):
        client_rows = c[c["role"] == "client"]
        server_rows = c[c["role"] == "server"]
        assert client_rows.iloc[0]["flag_str"] == "S"
        assert (server_rows["flag_str"] == "S.").sum() == 1
        assert client_rows["flag_str"].str.contains("F").any()
        assert server_rows["flag_str"].str.contains("F").any()
        assert client_rows["len"].sum() == server_rows["len"].sum() > 0


def test_loopback_ipv4(tmp_path):
    pcap = tmp_path / "lo.pcap"
    with server("127.0.0.1", 61001), tcpdump("lo", pcap, "tcp port 61001"):
        client("echo", "127.0.0.1", "61001", "--conns", "3", "--msgs", "4", "--size", "3000")
    seg = _assert_parity(pcap)
    _echo_conns(seg, 3)
    assert set(seg.attrs["tcpwatch"].linktypes) == {1}
    # Linux offers window scaling on loopback: after the handshake win = win_raw << shift
    syn = seg[seg["flag_str"] == "S"].iloc[0]
    later = seg[(seg["role"] == "client") & ~seg["flag_str"].str.contains("S")]
    assert syn["wscale"] > 0
    assert (later["win"] == later["win_raw"].astype(np.int64) * 2 ** int(syn["wscale"])).all()


def test_any_interface_sll2(tmp_path):
    pcap = tmp_path / "any.pcap"
    with server("127.0.0.1", 61002), tcpdump("any", pcap, "tcp port 61002",
                                             linktype="LINUX_SLL2"):
        client("echo", "127.0.0.1", "61002", "--conns", "2")
    seg = _assert_parity(pcap)
    assert seg.attrs["tcpwatch"].linktypes == [276]
    _echo_conns(seg, 2)


def test_veth_between_namespaces(tmp_path):
    pcap = tmp_path / "veth.pcap"
    with veth_lab(232) as lab, server(lab.b.addr, 5001, netns=lab.b.netns), \
                tcpdump(lab.a.link, pcap, "tcp", netns=lab.a.netns):
        client("echo", lab.b.addr, "5001", "--conns", "2", "--size", "20000",
               netns=lab.a.netns)
    seg = _assert_parity(pcap)
    _echo_conns(seg, 2)
    assert set(seg["src"].astype(str)) == {"10.232.0.1", "10.232.0.2"}


@pytest.mark.parametrize("outer", [None, 100], ids=["802.1Q", "QinQ"])
def test_vlan_tagged(tmp_path, outer):
    """Real frames of a real connection, tagged by a mirror port (tcpwatch.lab.scenarios.mirror:
    this kernel has no 802.1Q module, so no VLAN interface can be made)."""
    pcap = tmp_path / "vlan.pcap"
    with veth_lab(233, tag="v" if outer is None else "q") as lab:
        mon = f"twm{lab.a.netns[3:]}"[:15]
        ip("link", "add", mon + "a", "type", "veth", "peer", "name", mon + "b", netns=lab.a.netns)
        for i in (mon + "a", mon + "b"):
            ip("link", "set", i, "mtu", "65535", "up", netns=lab.a.netns)
        set_offloads(lab.a, on=False)
        set_offloads(lab.b, on=False)
        args = ["-m", "tcpwatch.lab.scenarios.mirror", lab.a.link, mon + "a", "--vlan", "42"]
        if outer is not None:
            args += ["--outer", str(outer)]
        mirror = subprocess.Popen(python_in(lab.a.netns, *args), stdout=subprocess.PIPE, text=True)
        try:
            assert mirror.stdout.readline().strip() == "ready"
            with server(lab.b.addr, 5002, netns=lab.b.netns), \
                    tcpdump(mon + "b", pcap, "vlan", netns=lab.a.netns):
                client("echo", lab.b.addr, "5002", netns=lab.a.netns)
        finally:
            mirror.terminate()
            mirror.wait()
            mirror.stdout.close()
    out = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "ieee8021ad.id",
                          "-e", "vlan.id", "-c", "1"], capture_output=True, text=True).stdout
    # the tags are really in the frames (tshark names an 802.1ad outer tag ieee8021ad)
    assert out.strip("\n").split("\t") == ["" if outer is None else "100", "42"]
    seg = _assert_parity(pcap)
    _echo_conns(seg, 1)


def test_ipv6_between_namespaces(tmp_path):
    pcap = tmp_path / "v6.pcap"
    with veth_lab(234, ipv6=True) as lab, server(lab.b.addr, 5003, netns=lab.b.netns), \
                tcpdump(lab.a.link, pcap, "ip6 and tcp", netns=lab.a.netns):
        client("echo", lab.b.addr, "5003", "--conns", "2", netns=lab.a.netns)
    seg = _assert_parity(pcap)
    assert (seg["ip_version"] == 6).all()
    assert set(seg["src"].astype(str)) == {"fd00:234::1", "fd00:234::2"}
    _echo_conns(seg, 2)


@pytest.mark.skipif(shutil.which("dumpcap") is None, reason="dumpcap not installed")
def test_pcapng_two_interfaces(tmp_path):
    """dumpcap on two interfaces at once: one pcapng, two IDBs (loopback and veth)."""
    png = tmp_path / "two.pcapng"
    with veth_lab(235) as lab, server("127.0.0.1", 61003), \
            server(lab.b.addr, 5004, netns=lab.b.netns):
        # a pcapng with an Ethernet IDB (veth) and a second one (loopback), merged
        lo_pcap, veth_pcap = tmp_path / "lo.pcap", tmp_path / "veth.pcap"
        with tcpdump("lo", lo_pcap, "tcp port 61003"):
            client("echo", "127.0.0.1", "61003")
        with tcpdump(lab.a.link, veth_pcap, "tcp", netns=lab.a.netns, linktype="EN10MB"):
            client("echo", lab.b.addr, "5004", netns=lab.a.netns)
    # interleave by time into one pcapng with one IDB per input file
    subprocess.run(["mergecap", "-F", "pcapng", "-w", str(png), str(lo_pcap), str(veth_pcap)],
                   check=True)
    magic = png.read_bytes()[:4]
    assert magic == b"\x0a\x0d\x0d\x0a"
    seg = _assert_parity(png)
    assert seg["conn"].nunique() == 2


def test_snaplen_truncated_segments_keep_their_header_fields(tmp_path):
    """tcpdump -s 80: data segments are cut, but len comes from the IP header."""
    pcap = tmp_path / "snap.pcap"
    with server("127.0.0.1", 61004), tcpdump("lo", pcap, "tcp port 61004", snaplen=80):
        client("echo", "127.0.0.1", "61004", "--size", "1000")
    seg = _assert_parity(pcap)
    data = seg[seg["len"] > 0]
    assert len(data) >= 6 and data["truncated"].all()
    assert data["len"].sum() == 2 * 3 * 1000  # three 1000-byte messages, echoed
    assert not seg[seg["len"] == 0]["truncated"].any()
    assert seg["tsval"].notna().all()  # options are inside the 80 bytes
