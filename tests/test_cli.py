"""The analyze command: summary, segment table, exports, selection; help for every command."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

import tcpwatch
from tcpwatch.cli.main import app
from tcpwatch.report.summary import summarize_connections
from tcpwatch.report.tables import render_connections

from .conftest import PUBLIC, REPO
from .test_bad_input import run_cli

SANDERS = PUBLIC / "chrissanders-packets"


def _summary(name: str) -> pd.DataFrame:
    return summarize_connections(tcpwatch.analyze(PUBLIC / name))


def test_summary_of_a_textbook_connection():
    s = _summary("zeek/http-get.pcap").iloc[0]
    assert s["client"] == "141.142.228.5:59856" and s["server"] == "192.150.187.43:80"
    assert (s["pkts_client"], s["pkts_server"]) == (7, 7)
    assert (s["bytes_client"], s["bytes_server"]) == (136, 5007)
    assert s["handshake"] == "yes" and s["ended"] == "FIN both ways, client first"
    assert (s["final_client"], s["final_server"]) == ("TIME_WAIT", "CLOSED")
    assert (s["conn_state"], s["history"]) == ("SF", "ShADadFf")
    assert s["duration"] == pytest.approx(0.211, abs=0.001)


@pytest.mark.parametrize("name, handshake, ended", [
    ("chrissanders-packets/tcp_refuseconnection.pcapng", "SYN", "RST by server"),
    ("chrissanders-packets/tcp_teardown.pcapng", "no", "FIN both ways, client first"),
    ("chrissanders-packets/tcp_handshake.pcapng", "yes", "open"),
    ("zeek/syn-then-rst.pcap", "SYN", "RST by client"),
    ("zeek/single-rst.pcap", "no", "RST by client"),
])
def test_summary_handshake_and_end(name, handshake, ended):
    s = _summary(name).iloc[0]
    assert (s["handshake"], s["ended"]) == (handshake, ended)


def test_window_range_per_direction():
    s = _summary("chrissanders-packets/tcp_zerowindowrecovery.pcapng")
    seg = tcpwatch.analyze(SANDERS / "tcp_zerowindowrecovery.pcapng")
    for role in ("client", "server"):
        w = seg[(seg["role"] == role) & ~seg["flag_str"].str.contains("R")]["win"]
        assert s.iloc[0][f"win_min_{role}"] == w.min()
        assert s.iloc[0][f"win_max_{role}"] == w.max()
    assert 0 in (s.iloc[0]["win_min_client"], s.iloc[0]["win_min_server"])  # a zero window


def test_rendered_summary_text():
    table = render_connections(_summary("zeek/http-get.pcap"), width=300)
    buf = io.StringIO()
    Console(file=buf, width=300, color_system=None).print(table)
    text = buf.getvalue()
    assert "141.142.228.5:59856 → 192.150.187.43:80" in text
    assert "FIN both ways" in text and "7 / 7" in text and "136 / 5,007" in text
    assert "TIME_WAIT / CLOSED" in text and "SF ShADadFf" in text


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".jsonl"])
def test_export_round_trip(tmp_path, ext):
    src = PUBLIC / "zeek" / "retransmit-fast009.pcap"
    out = tmp_path / f"seg{ext}"
    res = run_cli("analyze", str(src), "-o", str(out), "-q")
    assert res.returncode == 0 and res.stdout == "", res.stderr
    want = tcpwatch.analyze(src)
    if ext == ".csv":
        got = pd.read_csv(out, keep_default_na=False)
        assert got.columns.tolist() == list(tcpwatch.SEGMENT_COLUMNS)
        sacks = got["sack"][got["sack"] != ""]
        assert len(sacks) > 0 and all(re.fullmatch(r"(\d+-\d+ ?)+", v) for v in sacks)
    elif ext == ".parquet":
        got = pd.read_parquet(out)
        assert got.columns.tolist() == [*tcpwatch.SEGMENT_COLUMNS, "ts_utc"]
        assert [list(x) for x in got["sack"]] == [list(x) for x in want["sack"]]
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        got = pd.DataFrame(rows)
        assert list(rows[0]) == list(tcpwatch.SEGMENT_COLUMNS)
    for c in ("frame", "conn", "rel_seq", "rel_ack", "len", "win"):
        assert got[c].tolist() == want[c].tolist(), c


def test_conn_selection_and_segments():
    res = run_cli("analyze", str(SANDERS / "http_ip4and6.pcapng"), "--conn", "1", "--segments")
    assert res.returncode == 0, res.stderr
    assert "2001:db8:1:2::1002" in res.stdout and "172.16.16.140" not in res.stdout
    assert "TCP segments" in res.stdout
    res = run_cli("analyze", str(SANDERS / "http_ip4and6.pcapng"), "--conn", "7")
    assert res.returncode == 2 and "no connection 7" in res.stderr and res.stdout == ""


def test_summary_shows_the_busiest_connections():
    """400 connections: the table lists the 50 busiest, says so, and --top 0 lists all."""
    summary = summarize_connections(tcpwatch.analyze(REPO / "captures" / "many_short.pcap"))
    assert len(summary) == 400

    def rows(table) -> list[int]:
        return [int(c) for c in table.columns[0].cells]

    shown = render_connections(summary, top=50)
    busiest = (summary["pkts_client"] + summary["pkts_server"]).nlargest(50).min()
    picked = summary.set_index("conn").loc[rows(shown)]
    assert len(picked) == 50 and rows(shown) == sorted(rows(shown))
    assert ((picked["pkts_client"] + picked["pkts_server"]) >= busiest).all()
    assert "the 50 busiest of 400 connections" in shown.caption
    assert len(rows(render_connections(summary, top=0))) == 400
    res = run_cli("analyze", str(REPO / "captures" / "many_short.pcap"), "--top", "5")
    assert res.returncode == 0 and "the 5 busiest of 400 connections" in res.stdout


def test_bad_output_extension(tmp_path):
    res = run_cli("analyze", str(SANDERS / "tcp_handshake.pcapng"), "-o", str(tmp_path / "x.xls"))
    assert res.returncode == 2 and "unknown extension" in res.stderr
    assert "Traceback" not in res.stderr


def _commands():
    return app.commands


def test_every_command_has_help_and_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    for name, cmd in _commands().items():
        assert cmd.help and len(cmd.help) > 20, name
        assert f"tcpwatch {name}" in readme, name
        for param in cmd.params:
            if param.name != "file":
                assert getattr(param, "help", None), f"{name} {param.name}"


def test_explain_tells_the_handshake_and_teardown():
    res = run_cli("analyze", str(REPO / "captures" / "handshake_echo_close.pcap"), "--explain")
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("#")]
    assert len(lines) == 6
    assert "server SYN_RECEIVED→ESTABLISHED (handshake complete: ACK received; MSS 65495" in (
        lines[2])
    assert lines[-1].startswith("#14") and "server LAST_ACK→CLOSED (last ACK received)" in (
        lines[-1])


def test_ctrl_c_is_one_line_and_exit_130():
    """Ctrl-C while analyze waits for a capture on stdin: one line, exit 130.  The command
    starts as from a shell: SIGINT handled by default and blocked by nothing, whatever
    the test process was left with (an ignored or blocked signal is inherited across exec;
    in CI, a full run's earlier tests once left one so)."""
    def as_from_a_shell() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])

    proc = subprocess.Popen([sys.executable, "-m", "tcpwatch", "analyze", "-"], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_shell)
    deadline = time.monotonic() + 60
    # the kernel's word that the command is blocked in read(0, ...), not still starting
    while not Path(f"/proc/{proc.pid}/syscall").read_text().startswith("0 0x0 "):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    status = Path(f"/proc/{proc.pid}/status").read_text()
    masks = " ".join(x for x in status.splitlines() if x.startswith(("SigBlk", "SigIgn",
                                                                      "SigCgt")))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (err, masks)
    assert err.strip() == "tcpwatch: interrupted" and out == ""


@pytest.mark.parametrize("name", ["", *sorted(app.commands)])
def test_help_fits_80_columns_and_says_everything(name):
    """-h is --help; at 80 columns no line is wider, and every help text is there."""
    runner = CliRunner()
    args = [name] if name else []
    res = runner.invoke(app, [*args, "-h"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert res.output == runner.invoke(app, [*args, "--help"], env={"COLUMNS": "80"}).output
    assert max(len(line) for line in res.output.splitlines()) <= 80
    cmd = app.commands[name] if name else app
    flat = "".join(res.output.split())  # wrapped at spaces and after hyphens
    for text in [cmd.help, *(p.help for p in cmd.params)]:
        text = text.replace("\b", "")  # click's "keep these lines as they are" mark
        assert "".join(text.split()) in flat, text


def test_the_readme_documents_every_column_and_state():
    """The segment table's Markdown table is one table (no blank line breaks it) with a
    row for every column of the contract; every state name has a row in the states'
    table."""
    from tcpwatch.vocab import SEGMENT_COLUMNS, EndpointState

    readme = (REPO / "README.md").read_text()
    section = readme.split("## The segment table", 1)[1].split("\n### ", 1)[0]
    lines = section.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("| column |"))
    end = next(i for i in range(first, len(lines)) if not lines[i].startswith("|"))
    table = "\n".join(lines[first:end])
    assert "|" not in "\n".join(lines[end:])  # nothing of the table after a break
    for col in SEGMENT_COLUMNS:
        assert f"`{col}`" in table, col
    from tcpwatch.column_docs import markdown

    # one table of descriptions: `tcpwatch columns --markdown` prints the README's
    assert table == markdown(), "run: tcpwatch columns --markdown, into the README"
    shown = CliRunner().invoke(app, ["columns"], env={"COLUMNS": "80"}).output
    assert max(map(len, shown.splitlines())) <= 80
    assert all(col in shown for col in SEGMENT_COLUMNS)
    states = readme.split("### How the states are inferred", 1)[1].split("\n\n`", 1)[0]
    for state in EndpointState:
        assert f"| `{state.name}` |" in states, state.name


def test_every_command_shows_examples_and_its_names():
    """-h of each command has examples; serve and live list the model names, live the
    scenarios it drives and record all of them; serve documents the echo framing."""
    from click.testing import CliRunner

    from tcpwatch.lab.scenarios.registry import SCENARIOS
    from tcpwatch.lab.servers.models import MODELS

    for name in _commands():
        out = CliRunner().invoke(app, [name, "-h"], env={"COLUMNS": "200"}).output
        assert "Examples:" in out, name
    serve = CliRunner().invoke(app, ["serve", "-h"], env={"COLUMNS": "200"}).output
    live = CliRunner().invoke(app, ["live", "-h"], env={"COLUMNS": "200"}).output
    assert "4-byte big-endian length" in serve
    for model in MODELS:
        assert model in serve and model in live
    record = CliRunner().invoke(app, ["record", "-h"], env={"COLUMNS": "200"}).output
    for scenario in SCENARIOS:
        assert scenario in record, scenario
    from tcpwatch.cli.live_checks import ON_LOOPBACK

    for scenario in ON_LOOPBACK:
        assert scenario in live, scenario


def test_the_python_api_gives_what_the_command_prints():
    """tcpwatch.summarize_connections / episodes / explain / select: the README's API,
    the same numbers as the command line."""
    path = REPO / "captures" / "zero_window.pcap"
    seg = tcpwatch.analyze(path)
    conns, eps = tcpwatch.summarize_connections(seg), tcpwatch.episodes(seg)
    lines = tcpwatch.explain(seg)
    out = run_cli("analyze", str(path), "--explain").stdout
    assert all(line in out for line in lines) and lines
    r = conns.iloc[0]
    assert f"{r.pkts_client} / {r.pkts_server}" in out
    assert f"Flow-control episodes ({len(eps)})" in out
    stalls = tcpwatch.select(seg, "tcp.analysis.zero_window")
    assert len(stalls) and stalls["events"].str.contains("zero_window").all()
