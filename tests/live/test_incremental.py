"""The live session walks each batch once, carrying every stage's state over, and its
annotations equal ``tcpwatch analyze`` of the same capture column for column -- for
every recorded and public capture, replayed in batches of several sizes (the first
600 segments 1 at a time: every batch boundary there; then random sizes)."""

from __future__ import annotations

import functools
import random
import warnings
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.capture.pcapfile import CaptureReader
from tcpwatch.engine.incremental import IncrementalEngine
from tcpwatch.live.board import Board
from tcpwatch.report.summary import summarize_connections

from ..conftest import REPO, public_captures

CAPTURES = sorted((REPO / "captures").glob("*.pcap")) + public_captures()


#: size-1 batches for this many segments, then 64 at a time: every boundary in the
#: handshakes, first data and early teardowns, at a cost CI can pay on 4,000-frame captures
ONE_BY_ONE = 600


def batch_sizes(size: int | str):
    """Batch sizes to cut a capture into: ``1`` (ONE_BY_ONE singles, then 64), ``"mixed"``
    (seeded random sizes 1 to 40), or a fixed size."""
    if size == 1:
        yield from [1] * ONE_BY_ONE
        while True:
            yield 64
    rng = random.Random(7)
    while True:
        yield rng.randint(1, 40) if size == "mixed" else size


def replay(path: Path, size: int | str, on_batch=None, **kwargs) -> IncrementalEngine:
    session = IncrementalEngine(**kwargs)
    sizes = batch_sizes(size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in CaptureReader(path, 1 << 20):
            a = 0
            while a < len(raw):
                cut = slice(a, min(a + next(sizes), len(raw)))
                a = cut.stop
                new = session.add_frames(replace(
                    raw, off=raw.off[cut], caplen=raw.caplen[cut], origlen=raw.origlen[cut],
                    ts=raw.ts[cut], ts_ns=raw.ts_ns[cut], linktype=raw.linktype[cut],
                    frame=raw.frame[cut]))
                if on_batch:
                    on_batch(session, new)
    return session


@functools.cache  # the size-1 replay of many_short serves two tests
def replayed(path: Path, size: int) -> IncrementalEngine:
    return replay(path, size)


def offline(path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tcpwatch.analyze(path)


@pytest.mark.parametrize("size", [1, "mixed", 64])
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_batches_equal_offline_analysis(path, size):
    live = replayed(path, size).table()
    ref = offline(path)
    assert list(live.columns) == list(ref.columns)
    for col in ref.columns:
        pd.testing.assert_series_equal(live[col], ref[col], check_categorical=False,
                                       obj=f"{path.name} column {col}")


@pytest.mark.parametrize("name, why", [
    ("connection_refused.pcap", "the server's first segment is an RST"),
    ("simultaneous_close.pcap", "the FINs crossed"),
])
def test_a_later_segment_rewalks_its_connection(name, why):
    """Segments that change what earlier ones meant re-walk that connection (and only
    it): the annotations first handed out for its earlier rows were provisional, and the
    re-walk corrects them to what offline analysis says."""
    path = REPO / "captures" / name
    rewalked, first_seen = [], []

    def on_batch(s, new):
        rewalked.extend(s.rewalked.tolist())
        first_seen.append(new)

    session = replay(path, 1, on_batch)
    assert rewalked, why
    assert session.walked_rows > session.rows.n
    provisional = pd.concat(first_seen, ignore_index=True)
    final, ref = session.table(), offline(path)
    cols = ["state_after_client", "state_after_server", "transition", "events"]
    differs = (provisional[cols].astype(str) != final[cols].astype(str)).any(axis=1)
    assert differs.any()  # without the re-walk the table would keep these
    assert set(final.loc[differs, "conn"]) <= set(rewalked)
    assert final[cols].astype(str).equals(ref[cols].astype(str))


def test_work_is_proportional_to_new_segments():
    """4,000 segments of 400 connections, the first 600 one at a time: each is walked
    once (no re-walks in ordinary traffic), so a batch costs what the batch holds."""
    session = replayed(REPO / "captures" / "many_short.pcap", 1)
    assert session.rows.n == 4000
    assert session.walked_rows == session.rows.n


def test_board_counts_equal_the_summary():
    """The board, kept up to date batch by batch, agrees with the whole-table summary."""
    path = REPO / "captures" / "zero_window.pcap"
    boards = []
    session = replay(path, 5, lambda s, new: (boards or boards.append(Board(s)),
                                              boards[0].update()))
    rows, folded, _segs, hidden = boards[0].frame(now_ns=0, limit=1000)
    summary = summarize_connections(session.table()).set_index("conn")
    assert folded == 0 and hidden == 0 and len(rows) == len(summary)
    for r in rows.itertuples(index=False):
        s = summary.loc[r[0]]
        assert r[1] == f"{s['client']} → {s['server']}"
        assert r[2] == f"{s['final_client']} / {s['final_server']}"
        assert r[8] == s["pkts_client"] + s["pkts_server"]
        assert r[6] == s["retransmissions"]
    assert rows["zero win"].sum() > 0


def test_without_keep_closed_connections_are_forgotten(monkeypatch):
    """keep=False (live without -o): rows of connections that are over are dropped as
    the capture goes, so memory follows the open connections; the annotations of each
    batch are still those of offline analysis, and the board's totals still add up."""
    monkeypatch.setattr("tcpwatch.engine.incremental.FORGET_EVERY", 200)
    path = REPO / "captures" / "many_short.pcap"
    batches, held, boards = [], [], []

    last_states: dict[int, str] = {}

    def on_batch(s, new):
        if not boards:
            boards.append(Board(s))
        boards[0].update()
        batches.append(new)
        held.append(s.rows.n)
        for r in new.itertuples():
            last_states[r.conn] = f"{r.state_after_client} / {r.state_after_server}"
        # what the board shows (its row pointers survive the dropping) is the latest
        shown = boards[0].frame(now_ns=0, limit=1000)[0]
        for conn, states in zip(shown["conn"], shown["client / server"], strict=True):
            assert states == last_states[conn]

    session = replay(path, 10, on_batch, keep=False, linger_s=0.0)
    ref = offline(path)
    assert len(ref) == 4000 and max(held) < 600  # never more than a few connections' rows
    live = pd.concat(batches, ignore_index=True)  # categories differ batch to batch
    for col in ref.columns:
        assert live[col].astype(str).tolist() == ref[col].astype(str).tolist(), col
    now = int(ref["ts_ns"].max())
    rows, folded, folded_segs, hidden = boards[0].frame(now_ns=now, linger_s=0.0, limit=1000)
    assert boards[0].gone_conns > 300  # most were dropped on the way, the rest fold now
    assert folded == 400 and folded_segs == 4000 and len(rows) == 0 and hidden == 0
    with pytest.raises(RuntimeError):
        session.table()


def test_the_board_prints_bracketed_ipv6_endpoints():
    """An IPv6 endpoint is printed ``[fd00:176::1]:39130``; rich would read a bracket
    starting with a letter as a style tag and print nothing of the address."""
    import io

    from rich.console import Console

    from tcpwatch.live.view import render

    boards = []
    replay(REPO / "captures" / "icmp_reject.pcap", 64,
           lambda s, new: (boards or boards.append(Board(s)), boards[0].update()))
    rows, *_ = boards[0].frame(now_ns=0, limit=1000)
    buf = io.StringIO()
    Console(file=buf, width=300, soft_wrap=True).print(render(boards[0], [], 0))
    ends = [r[1] for r in rows.itertuples(index=False)]
    assert any(e.startswith("[f") for e in ends)
    for e in ends:
        assert e in buf.getvalue()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_the_board_fits_the_terminal_and_cuts_no_number(width):
    """At 80 columns rich's table had cut every number to '…'; the board is a fitted
    table: no line wider than the terminal, the counts of every connection whole, and
    the columns left out named."""
    import io

    from rich.console import Console

    from tcpwatch.live.view import render

    boards = []
    replay(REPO / "captures" / "icmp_reject.pcap", 64,
           lambda s, new: (boards or boards.append(Board(s)), boards[0].update()))
    rows, *_ = boards[0].frame(now_ns=0, limit=1000)
    buf = io.StringIO()
    Console(file=buf, width=width, soft_wrap=False).print(render(boards[0], [], 0))
    lines = buf.getvalue().splitlines()
    assert max(map(len, lines)) <= width and "…" not in buf.getvalue()
    cells = {c for line in lines for c in line.replace("┃", "│").split("│")}
    for r in rows.itertuples(index=False):
        assert f"{r[0]}" in {c.strip() for c in cells}  # conn
        assert f"{r[8]}" in {c.strip() for c in cells}  # segs
    assert (width == 200) == ("not shown at" not in buf.getvalue())
