"""The ladder kind, read back from what it writes: the SVG's state labels and arrow labels
(matplotlib keeps each text as a comment in its group, whose id is the gid the ladder
gives it) and the HTML figure's JSON must equal the segment table's state changes and its
segments, and tcpdump's own reading of the capture. Folding keeps every state change and
every flagged row of a long connection, and the ladder renders on every capture."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import matplotlib
import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import tcpwatch
from tcpwatch.cli.main import app
from tcpwatch.errors import TcpwatchError
from tcpwatch.plot import ladder, ladder_rows
from tcpwatch.plot.choose import busiest, choose_conns, conn_rows
from tcpwatch.plot.ladder_text import event_names

from ..conftest import REPO, public_captures

matplotlib.use("Agg")

CAPTURES = REPO / "captures"
#: handshake, half close, simultaneous close, RST, and the server closing first
SCENARIOS = ("handshake_echo_close", "half_close", "simultaneous_close", "rst_abort",
             "server_closes_first")
SIDES = ("client", "server")


@cache
def table(path: Path) -> pd.DataFrame:
    return tcpwatch.analyze(str(path))


def one_conn(path: Path) -> pd.DataFrame:
    segs = table(path)
    return conn_rows(segs, busiest(segs, 1)[0])


def changes(rows: pd.DataFrame, side: str) -> list[tuple[int, str]]:
    """(frame, new state) wherever the table says ``side``'s state changes."""
    before = rows[f"state_before_{side}"].astype(str)
    after = rows[f"state_after_{side}"].astype(str)
    sel = before != after
    return list(zip(rows["frame"][sel].tolist(), after[sel].tolist(), strict=True))


def svg_texts(path: Path) -> dict[str, str]:
    """gid -> the text matplotlib wrote in that group (its first comment)."""
    tree = ET.parse(path, ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    out = {}
    for g in tree.iter("{http://www.w3.org/2000/svg}g"):
        gid = g.get("id", "")
        comment = next((c for c in g if c.tag is ET.Comment), None)
        if comment is not None:
            out[gid] = comment.text.strip()
        elif gid.startswith("arrow-"):
            out[gid] = ""
    return out


def html_figure(path: Path) -> dict:
    """The figure JSON a ``tcpwatch plot -o x.html`` page draws."""
    body = path.read_text(encoding="utf-8").split("</head>", 1)[1]  # past plotly.min.js
    m = re.search(r"\{var F=(\{.*?\});Plotly\.newPlot\(", body, re.S)
    assert m, "no figure in the page"
    return json.loads(m.group(1).replace("<\\/", "</"))


def parse_label(text: str) -> dict[str, object]:
    """``Flags [P.], seq 1:14, ack 1, win 65536, length 13`` -> its fields."""
    m = re.fullmatch(r"Flags \[(?P<flags>[^\]]+)\](?:, seq (?P<seq>\d+)(?::(?P<end>\d+))?)?"
                     r"(?:, ack (?P<ack>\d+))?, win (?P<win>\d+), length (?P<len>\d+)", text)
    assert m, text
    return {k: (v if k == "flags" or v is None else int(v)) for k, v in m.groupdict().items()}


def tcpdump_lines(path: Path) -> list[dict[str, object]]:
    """tcpdump's own reading of every TCP segment (relative numbers, its default)."""
    out = subprocess.run(["tcpdump", "-n", "-r", str(path), "tcp"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.search(r"Flags \[(?P<flags>[^\]]+)\](?:, seq (?P<seq>\d+)(?::(?P<end>\d+))?)?"
                      r"(?:, ack (?P<ack>\d+))?, win \d+.*?, length (?P<len>\d+)", line)
        assert m, line
        rows.append({k: (v if k == "flags" or v is None else int(v))
                     for k, v in m.groupdict().items()})
    return rows


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Each scenario drawn by the CLI to SVG and HTML."""
    out = tmp_path_factory.mktemp("ladder")
    runner = CliRunner()
    files = {}
    for name in SCENARIOS:
        pair = (out / f"{name}.svg", out / f"{name}.html")
        for target in pair:
            res = runner.invoke(app, ["plot", str(CAPTURES / f"{name}.pcap"), "--kind",
                                      "ladder", "-o", str(target)])
            assert res.exit_code == 0, res.output
        files[name] = pair
    return files


@pytest.mark.parametrize("name", SCENARIOS)
def test_svg_state_labels_are_the_tables_transitions(name, drawn):
    rows = one_conn(CAPTURES / f"{name}.pcap")
    texts = svg_texts(drawn[name][0])
    for side in SIDES:
        want = [state for _, state in changes(rows, side)]
        got = [texts[f"state-{side}-{i}"] for i in range(len(want))]
        assert got == want, side
        assert f"state-{side}-{len(want)}" not in texts
        assert texts[f"state-start-{side}"] == str(rows[f"state_before_{side}"].iloc[0])
        ends_in_time_wait = str(rows[f"state_after_{side}"].iloc[-1]) == "TIME_WAIT"
        assert (texts.get(f"state-unseen-{side}") == "CLOSED") == ends_in_time_wait


@pytest.mark.parametrize("name", SCENARIOS)
def test_svg_arrows_are_the_segments_in_tcpdump_notation(name, drawn):
    path = CAPTURES / f"{name}.pcap"
    rows = one_conn(path)
    texts = svg_texts(drawn[name][0])
    frames = rows["frame"].tolist()
    assert sorted(int(k.split("-")[1]) for k in texts if k.startswith("arrow-")) == frames
    reference = tcpdump_lines(path)
    assert len(reference) == len(rows)
    for r, ref in zip(rows.itertuples(), reference, strict=True):
        got = parse_label(texts[f"label-{r.frame}"])
        assert got["flags"] == r.flag_str == ref["flags"]
        assert got["len"] == r.len == ref["len"]
        assert got["win"] == r.win
        assert got["ack"] == (r.rel_ack if "." in r.flag_str else None)
        if r.len:
            assert (got["seq"], got["end"]) == (r.rel_seq, r.rel_seq + r.len)
        elif {"S", "F", "R"} & set(r.flag_str):
            assert got["seq"] == r.rel_seq and got["end"] is None
        else:
            assert got["seq"] is None
        if "S" not in r.flag_str:  # tcpdump writes a SYN's numbers absolute, others relative
            assert (got["seq"], got["end"], got["ack"]) == (ref["seq"], ref["end"], ref["ack"])
        else:
            assert (got["seq"] is None, got["ack"] is None) == (ref["seq"] is None,
                                                                ref["ack"] is None)


@pytest.mark.parametrize("name", SCENARIOS)
def test_html_figure_holds_the_same_states_and_segments(name, drawn):
    rows = one_conn(CAPTURES / f"{name}.pcap")
    fig = html_figure(drawn[name][1])
    traces = {t["name"]: t for t in fig["data"] if t.get("meta") != "arrow"}
    for side in SIDES:
        want = changes(rows, side)
        t = traces[f"{side} states"]
        assert list(zip(t["customdata"], t["text"], strict=True)) == want
    labels = traces["segment labels"]
    assert labels["customdata"] == rows["frame"].tolist()
    for r, text in zip(rows.itertuples(), labels["text"], strict=True):
        got = parse_label(text)
        assert (got["flags"], got["len"], got["win"]) == (r.flag_str, r.len, r.win)
    arrows = [t for t in fig["data"] if t.get("meta") == "arrow"]
    arrow_frames = sorted({f for t in arrows for f in t["customdata"]})
    assert arrow_frames == rows["frame"].tolist()
    for t in arrows:  # every point of an arrow hovers with its own segment's frame
        assert all(f"frame {f} " in h for f, h in zip(t["customdata"], t["text"], strict=True))


def test_a_folded_long_connection_keeps_every_state_change_and_flagged_row():
    rows = one_conn(CAPTURES / "upstream_loss.pcap")
    d = ladder.data(rows)
    assert len(rows) > ladder_rows.FULL_MAX and len(d.rows) <= ladder_rows.MAX_ROWS
    assert len(d.gaps) > 0
    drawn = set(d.rows["frame"])
    flagged = rows["events"].astype(str) != ""
    assert flagged.sum() > 2 * ladder_rows.MAX_ROWS  # more than fit: the tiers decide
    # the default budget: every loss, reordering and window-trouble row (tier 1); with room
    # for them, every flagged row
    tier1 = rows["events"].astype(str).str.contains(
        "retransmission|out_of_order|lost_segment|zero_window|window_full|ack_lost")
    assert tier1.sum() > 5 and set(rows["frame"][tier1]) <= drawn
    room = int(flagged.sum()) + 40  # every flagged row, the handshake, teardown, changes
    assert set(rows["frame"][flagged]) <= set(ladder.data(rows, max_rows=room).rows["frame"])
    for side in SIDES:
        want = changes(rows, side)
        s = d.states[(d.states["kind"] == "change") & (d.states["side"] == side)]
        assert list(zip(s["frame"], s["state"], strict=True)) == want
    assert set(rows["frame"][:ladder_rows.HEAD]) <= drawn
    assert set(rows["frame"][-ladder_rows.TAIL:]) <= drawn
    # the gaps account for every other segment and byte, and hide no flagged row
    assert len(d.rows) + d.gaps["segments"].sum() == len(rows)
    for role, col in (("client", "bytes_client"), ("server", "bytes_server")):
        mine = rows["role"].astype(str) == role
        shown = rows["len"][mine & rows["frame"].isin(drawn)].sum()
        assert shown + d.gaps[col].sum() == rows["len"][mine].sum()
    # what the gaps fold is only duplicate ACKs and window updates, each counted in its label
    hidden = " ".join(x.split("\n", 1)[1] for x in d.gaps["label"] if "\n" in x)
    assert hidden and set(re.findall(r"\d+ ([A-Za-z -]+?)[,)]", hidden)) <= {
        "Dup ACK", "Window Update"}, hidden
    # rows, gaps and labels keep capture order down the page
    ys = pd.concat([pd.Series(d.rows["y"].to_numpy(), index=d.rows["frame"]),
                    pd.Series(d.gaps["y"].to_numpy(), index=d.gaps["first_frame"])])
    assert ys.sort_index().is_monotonic_increasing


def test_a_tight_budget_counts_the_flags_it_folds():
    rows = one_conn(CAPTURES / "lossy_bulk.pcap")
    fold = ladder_rows.choose(rows, max_rows=40)
    assert len(fold.keep) <= 40
    kept = np.zeros(len(rows), bool)
    kept[fold.keep] = True
    changed = ladder_rows.state_changes(rows)
    assert kept[changed].all()
    folded = rows["events"].astype(str)[~kept]
    names = [n for ev in folded for n in event_names(ev)]
    # a gap's second line counts what it hides: "(12 Window Update, 3 Dup ACK)"
    hidden = sum(int(n.replace(",", "")) for label in fold.gaps["label"] if "\n" in label
                 for n in re.findall(r"([\d,]+) [A-Z]", label.split("\n", 1)[1]))
    assert hidden == len(names) > 0
    # tier 1 (retransmissions, reordering, window trouble) outranks window updates
    retrans = rows["events"].astype(str).str.contains("retransmission|out_of_order")
    assert kept[retrans.to_numpy()].all()


def test_what_the_wire_never_shows_is_drawn_apart():
    """A capture that starts mid-connection (its first states inferred) and ends in
    TIME_WAIT: the starting states are labelled inferred, the band above the first
    segment is not the wire's, and CLOSED follows TIME_WAIT unseen."""
    rows = one_conn(REPO / "captures/public/chrissanders-packets/tcp_teardown.pcapng")
    assert bool(rows["states_inferred"].iloc[0])
    d = ladder.data(rows)
    st = d.states.set_index(["side", "kind"])
    for side in SIDES:
        assert st.loc[(side, "inferred"), "state"] == str(rows[f"state_before_{side}"].iloc[0])
        first = d.spans[d.spans["side"] == side].iloc[0]
        assert (first["y0"], first["y1"], bool(first["seen"])) == (0.0, 1.0, False)
    final = {side: str(rows[f"state_after_{side}"].iloc[-1]) for side in SIDES}
    assert final == {"client": "TIME_WAIT", "server": "CLOSED"}
    unseen = d.states[d.states["kind"] == "unseen"]
    assert unseen[["side", "state", "frame"]].values.tolist() == [["client", "CLOSED", -1]]
    assert (unseen["y"] > d.y_end).all()
    fig = matplotlib.figure.Figure(figsize=(10, ladder.panel_height(d)))
    ladder.draw(d, fig.add_subplot())
    texts = {a.get_gid(): a.get_text() for a in fig.axes[0].texts}
    assert texts["state-unseen-client"] == "CLOSED" and "state-unseen-server" not in texts
    assert {"state-inferred-client", "state-inferred-server"} <= set(texts)


def test_evenly_spaced_rows_say_where_the_clock_jumped():
    """keepalive.pcap idles a second before each keep-alive: the rows say so, and each
    keep-alive's note gives the seq tcpdump's line leaves out (SND.NXT - 1)."""
    rows = one_conn(CAPTURES / "keepalive.pcap")
    d = ladder.data(rows)
    jumps = rows["frame"][np.r_[0.0, np.diff(rows["ts"].to_numpy())] >= ladder.IDLE_MIN]
    assert d.rows["frame"][d.rows["idle"] >= ladder.IDLE_MIN].tolist() == jumps.tolist()
    assert len(jumps) == 3
    ka = rows["events"].astype(str).str.split(";").map(lambda n: "keep_alive" in n)
    notes = d.rows.set_index("frame")["note"]
    assert ka.sum() == 3
    for r in rows[ka.to_numpy()].itertuples():
        assert notes[r.frame] == f"seq {r.rel_seq}"


ALL = sorted([*CAPTURES.glob("*.pcap"), *public_captures()])


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(CAPTURES)) for p in ALL])
def test_the_ladder_draws_every_capture(path):
    segs = table(path)
    if segs.empty:  # a capture without a TCP segment: one clear error, nothing drawn
        with pytest.raises(TcpwatchError, match="no TCP connection"):
            choose_conns(segs, None, source=str(path))
        return
    rows = one_conn(path)
    d = ladder.data(rows)
    if len(rows) <= ladder_rows.FULL_MAX:
        assert d.rows["frame"].tolist() == rows["frame"].tolist()
    else:
        assert 0 < len(d.rows) <= ladder_rows.MAX_ROWS
    json.dumps(ladder.figure(d))
    fig = matplotlib.figure.Figure(figsize=(10, ladder.panel_height(d)))
    ladder.draw(d, fig.add_subplot())
    gids = {a.get_gid() for a in fig.axes[0].texts}
    assert {f"label-{f}" for f in d.rows["frame"]} <= gids
