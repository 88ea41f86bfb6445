"""The streamed analysis (engine/stream.py: memory bounded by the open connections)
equals the whole-table one on every capture of the suite: the rows it hands out, once
patched with its fixes, are ``analyze``'s table; the per-connection reports made when
connections close are the whole table's summary and episodes; the Parquet file it
writes is the one ``write_segments`` writes.  Run with tiny chunks, flushes and forget
intervals, so that every path (a fix of rows already written, a connection forgotten
then seen again, the second pass) is taken on real captures."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tcpwatch.decode.columns import to_frame
from tcpwatch.engine.stream import Tee, stream
from tcpwatch.report.accumulate import ReportSink
from tcpwatch.report.episodes import episodes
from tcpwatch.report.export import ParquetSink, write_segments
from tcpwatch.report.summary import summarize_connections
from tcpwatch.report.tables import busiest

from .reference.captures import REPO, analysed, capture_id, suite_captures

CAPTURES = suite_captures() + sorted((REPO / "tests/reference/cases").glob("*.pcap"))
# a frame at a time; the closed connections reported one or a few at a time
TINY = {"chunk_size": 64, "flush_rows": 1, "forget_every": 1, "closed_rows": 1}
SMALL = {"chunk_size": 4096, "flush_rows": 64, "forget_every": 64, "closed_rows": 16}
MEDIUM = {"chunk_size": 32768, "flush_rows": 512, "forget_every": 512, "closed_rows": 128}


def settings(path: Path) -> dict[str, int]:
    """TINY on captures under 3 kB; on larger ones TINY costs a scan of the rows and a
    report per frame, so tens (SMALL) or hundreds (MEDIUM, over 100 kB) of frames per
    batch: every capture still spans many batches."""
    size = path.stat().st_size
    return TINY if size < 3_000 else SMALL if size < 100_000 else MEDIUM


class Collect:
    """Every call a sink gets, kept."""

    def __init__(self) -> None:
        self.tables: list[pd.DataFrame] = []
        self.fixes: list[tuple[np.ndarray, pd.DataFrame]] = []
        self.closed_conns: list[np.ndarray] = []
        self.closed_rows: list[int] = []

    def rows(self, table):
        self.tables.append(to_frame(table))

    def fix(self, table, gid):
        self.fixes.append((gid, table))

    def closed(self, rows):
        self.closed_conns.append(np.unique(rows.conn))
        self.closed_rows.append(len(rows))

    def table(self) -> pd.DataFrame:
        out = pd.concat(self.tables, ignore_index=True).astype(str)
        for gid, fixed in self.fixes:
            for c in fixed.columns:
                out.loc[gid, c] = fixed[c].astype(str).to_numpy()
        return out


def run(path: Path, **kwargs):
    sinks = []

    def make():
        sinks[:] = [Collect(), ReportSink(sides=True),
                    ReportSink(top=3, episodes_shown=2, sides=True)]
        return Tee(*sinks)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stream(path, make, **kwargs)
    return sinks


def same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    assert list(a.columns) == list(b.columns), what
    for c in a.columns:
        pd.testing.assert_series_equal(a[c].astype(str), b[c].astype(str), obj=f"{what} {c}")


@pytest.mark.parametrize("tiny", [True, False], ids=["small-batches", "defaults"])
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: capture_id(p) if "captures" in
                         str(p) else p.name)
def test_streamed_equals_whole_table(path, tiny):
    """Small batches with no linger (every closed connection forgotten at once, seen
    again if it gets a segment: the second pass), and the defaults users run."""
    ref = analysed(path)
    rows, report, printed = run(path, **({"linger_s": 0.0, **settings(path)} if tiny
                                         else {}))
    same(rows.table(), ref.astype(str), "rows")
    closed = np.concatenate(rows.closed_conns) if rows.closed_conns else np.zeros(0)
    assert sorted(closed.tolist()) == sorted(ref["conn"].unique().tolist())  # each once
    if len(ref):
        summary, ep = summarize_connections(ref), episodes(ref)
        same(report.summary(), summary, "summary")
        same(report.episodes(), ep, "episodes")
        # what analyze prints: the busiest, the first episodes, and how many of each
        same(printed.summary(), busiest(summary, 3).reset_index(drop=True), "busiest")
        same(printed.episodes(), ep.head(2), "first episodes")
        assert (printed.connections, printed.n_episodes) == (len(summary), len(ep))


@pytest.mark.parametrize("name, fixed, passes", [
    ("connection_refused.pcap", True, 1),  # the RST from the server re-walks the SYN
    ("simultaneous_close.pcap", True, 1),  # the crossed FINs
    ("ndpi/edonkey.pcap", False, 2),  # a closed connection's 4-tuple seen again
])
def test_small_batches_take_every_path(name, fixed, passes):
    """The paths test_streamed_equals_whole_table checks are taken: rows already handed
    out are fixed, and a capture is read twice."""
    path = next(p for p in CAPTURES if str(p).endswith(name))
    made = []

    def make():
        made.append(Collect())
        return made[-1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stream(path, make, linger_s=0.0, **settings(path))
    assert (any(m.fixes for m in made), len(made)) == (fixed, passes)


@pytest.mark.parametrize("name", ["connection_refused.pcap", "simultaneous_close.pcap",
                                  "lossy_bulk.pcap"])
def test_parquet_sink_writes_what_write_segments_writes(name, tmp_path):
    """Row groups written as rows come, fixed rows patched at close: the file reads back
    as the whole table's file does."""
    path = REPO / "captures" / name
    sink = ParquetSink(tmp_path / "s.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stream(path, lambda: sink, **settings(path))
    sink.close()
    write_segments(analysed(path), tmp_path / "m.parquet")
    a, b = pd.read_parquet(tmp_path / "s.parquet"), pd.read_parquet(tmp_path / "m.parquet")
    same(a, b, name)
    if name != "lossy_bulk.pcap":
        assert sink.patched  # the capture makes the streamed run patch its file


@pytest.mark.parametrize("most", [1, 40, 10**9])
def test_closed_connections_reach_the_reports_in_parts(most):
    """Connections found over at one look reach ``closed`` whole, about ``most`` rows at
    a time (one connection larger than that alone), and the reports are the same."""
    path = next(p for p in CAPTURES if p.name == "many_short.pcap")  # 400 connections
    rows, report, _ = run(path, closed_rows=most)
    ref = analysed(path)
    same(report.summary(), summarize_connections(ref), "summary")
    same(report.episodes(), episodes(ref), "episodes")
    calls = list(zip(rows.closed_conns, rows.closed_rows, strict=True))
    assert all(n <= most or conns.size == 1 for conns, n in calls)
    if most == 40:  # several connections per call, and more calls than looks
        assert any(conns.size > 1 for conns, _ in calls)
        assert len(calls) > len(run(path)[0].closed_rows)


def test_a_look_is_due_when_lingering_connections_can_go(monkeypatch):
    """A look that finds connections over but not idle for ``linger_s`` yet says when
    they can go (``due_ns``); the engine looks again at the first batch that reaches
    that time, however few segments came since: a long transfer's rows leave when they
    may, not up to ``forget_every`` segments later."""
    from tcpwatch.capture.pcapfile import CaptureReader
    from tcpwatch.engine.incremental import IncrementalEngine

    monkeypatch.setattr("tcpwatch.engine.incremental.FORGET_EVERY", 10**9)  # no other looks
    engine = IncrementalEngine(keep=False, linger_s=0.05)
    engine.due_rows = 1
    forgotten, due, clocks = [], None, []
    for raw in CaptureReader(REPO / "captures" / "many_short.pcap", 2048):
        clocks.append(int(engine.rows["ts_ns"][-1]) if engine.rows.n else 0)
        engine.add_frames(raw, frame=False)
        if due is None and engine.rows.n:  # the one look by hand, as soon as one is over
            engine.forget(engine.over_connections())
            due = engine.due_ns
        forgotten.append(int(engine.conns["forgotten"].sum()))
    assert due is not None
    at = next(i for i, clock in enumerate(clocks) if clock >= due)  # the batch that looks
    before, after = forgotten[at - 1], forgotten[at]
    assert forgotten[:at] == [before] * at and after > before
