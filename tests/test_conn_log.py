"""``tcpwatch analyze FILE --conn-log PATH``: every connection's summary row, read back as a
script would -- Zeek's conn.log by a zeek-cut equivalent (Debian has no zeek), every other
format by pandas -- and the summary's statistics checked against Zeek's own conn.logs
and tshark."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import tcpwatch
from tcpwatch.cli.main import app
from tcpwatch.engine.stream import stream
from tcpwatch.report.connlog import ConnLogSink
from tcpwatch.report.summary import summarize_connections

from .conftest import PUBLIC, REPO, needs_tshark
from .test_bad_input import assert_one_line_error, run_cli

CAPTURES = REPO / "captures"
ZEEK_LOGS = [PUBLIC / "zeek" / f"{n}.expected.conn.log"
             for n in ("http-get", "miss_end_data", "retransmit-fast009")]
#: Zeek's conn.log columns, in Zeek's order (base/protocols/conn/main.zeek)
ZEEK_NAMES = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
              "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
              "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
              "resp_pkts", "resp_ip_bytes"]


def zeek_cut(text: str, *fields: str) -> list[list[str]]:
    """What ``zeek-cut FIELD...`` prints, as rows of cells: the separator from the
    ``#separator`` line (escaped, as Zeek writes it), the column names from the last
    ``#fields`` line, every other ``#`` line skipped; a field the log lacks is an error."""
    sep, names, out = "\t", None, []
    for line in text.splitlines():
        if line.startswith("#separator "):
            sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
        elif line.startswith("#fields"):
            names = line.split(sep)[1:]
        elif line and not line.startswith("#"):
            assert names is not None, "a row before the #fields line"
            cells = line.split(sep)
            assert len(cells) == len(names), line
            out.append([cells[names.index(f)] for f in fields])
    return out


def _header(text: str) -> dict[str, str]:
    """The ``#key value`` lines (the separator line is split on its space)."""
    head = {}
    for line in text.splitlines():
        if line.startswith("#") and not line.startswith("###"):
            key, _, value = line[1:].replace(" ", "\t", 1 if line.startswith(
                "#separator") else 0).partition("\t")
            head[key] = value
    return head


def _run(*args: str) -> None:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("log", ZEEK_LOGS, ids=lambda p: p.name.split(".")[0])
def test_zeek_cut_reads_ours_as_it_reads_zeeks(log, tmp_path):
    """Our conn.log has Zeek's header lines and column types, and zeek-cut finds in it
    the values Zeek itself wrote for the same capture."""
    ours = tmp_path / "conn.log"
    _run("analyze", str(log.with_name(log.name.replace(".expected.conn.log", ".pcap"))),
         "-q", "--conn-log", str(ours))
    text, theirs = ours.read_text(), log.read_text()
    mine, zeek = _header(text), _header(theirs)
    for key in ("separator", "set_separator", "empty_field", "unset_field", "path"):
        assert mine[key] == zeek[key], key
    assert re.fullmatch(r"\d{4}(-\d\d){5}", mine["open"]) and "close" in mine
    assert text.splitlines()[-1].startswith("#close\t")
    names, types = mine["fields"].split("\t"), mine["types"].split("\t")
    assert names[:20] == ZEEK_NAMES == zeek["fields"].split("\t")[:20]
    assert len(set(names)) == len(names) and "tcpwatch.duration" in names
    assert types[:20] == zeek["types"].split("\t")[:20]
    assert len(types) == len(names) and set(types) <= {
        "time", "string", "addr", "port", "enum", "interval", "count", "bool", "int", "double"}
    same = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "orig_bytes",
            "resp_bytes", "conn_state", "missed_bytes", "history", "orig_pkts", "resp_pkts"]
    got, want = zeek_cut(text, *same, "duration"), zeek_cut(theirs, *same, "duration")
    assert len(got) == len(want) == 1
    assert got[0][:-1] == want[0][:-1]
    assert float(got[0][-1]) == pytest.approx(float(want[0][-1]), abs=1e-6)
    (uid, service, orig_ip_bytes, conn), = zeek_cut(text, "uid", "service", "orig_ip_bytes",
                                                    "conn")
    assert re.fullmatch(r"C[0-9A-Za-z]{17}", uid)
    assert (service, orig_ip_bytes, conn) == ("-", "-", "0")


def test_zeek_cut_on_many_connections(tmp_path):
    """Every connection once, its uid unique and stable, its endpoints and counts those of
    the summary; IPv6 addresses without brackets."""
    for name in ("many_short", "ipv4_ipv6_interleaved"):
        pcap = CAPTURES / f"{name}.pcap"
        logs = [tmp_path / f"{name}{i}.log" for i in (1, 2)]
        for log in logs:
            _run("analyze", str(pcap), "-q", "--conn-log", str(log))
        want = summarize_connections(tcpwatch.analyze(pcap)).set_index("conn")
        fields = ("conn", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p",
                  "orig_pkts", "resp_pkts", "conn_state", "history", "handshake")
        rows = zeek_cut(logs[0].read_text(), *fields)
        assert zeek_cut(logs[1].read_text(), *fields) == rows  # the same uids again
        assert sorted(int(r[0]) for r in rows) == sorted(want.index)
        assert len({r[1] for r in rows}) == len(rows)
        for conn, _uid, oh, op, rh, rp, opk, rpk, state, hist, hs in rows:
            w = want.loc[int(conn)]
            assert (f"[{oh}]:{op}" if ":" in oh else f"{oh}:{op}") == w["client"]
            assert (f"[{rh}]:{rp}" if ":" in rh else f"{rh}:{rp}") == w["server"]
            assert (int(opk), int(rpk), state, hist, hs) == (
                w["pkts_client"], w["pkts_server"], w["conn_state"], w["history"],
                w["handshake"])
        if name == "ipv4_ipv6_interleaved":
            assert any(":" in r[2] and "[" not in r[2] for r in rows)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_pandas_reads_every_format(suffix, tmp_path):
    pcap = CAPTURES / "ipv4_ipv6_interleaved.pcap"
    out = tmp_path / f"conns{suffix}"
    _run("analyze", str(pcap), "-q", "--conn-log", str(out))
    want = summarize_connections(tcpwatch.analyze(pcap))
    if suffix == ".parquet":
        got = pd.read_parquet(out).sort_values("conn").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)  # the dtypes too
        return
    got = (pd.read_csv(out) if suffix == ".csv" else pd.read_json(out, lines=True))
    got = got.sort_values("conn").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    for name in want.columns:
        w, g = want[name], got[name]
        if not pd.api.types.is_numeric_dtype(w) or pd.api.types.is_bool_dtype(w):
            assert g.astype(str).tolist() == w.astype(str).tolist(), name
        else:
            assert np.allclose(g.astype("float64"), w.astype("float64"), equal_nan=True,
                               rtol=1e-9), name


def test_streamed_part_by_part_equals_the_whole_table(tmp_path):
    """Connections forgotten as the file is read, their rows written in many parts (and
    a capture whose rows are rewalked after they were handed out): the file holds the
    rows summarize_connections gives for the whole table."""
    for pcap in (CAPTURES / "many_short.pcap",
                 PUBLIC / "chrissanders-packets" / "synscan.pcapng"):
        path = tmp_path / f"{pcap.stem}.parquet"
        sinks: list[ConnLogSink] = []
        parts = []

        def make(path=path, sinks=sinks, parts=parts):
            for s in sinks:
                s.writer.close()
            sinks[:] = [ConnLogSink(path)]
            write = sinks[0].writer.write
            sinks[0].writer.write = lambda part: (parts.append(len(part)), write(part))
            return sinks[0]

        stream(str(pcap), make, chunk_size=4096, flush_rows=7, forget_every=100,
               linger_s=0.0)
        sinks[0].close()
        assert len(parts) >= 4
        got = pd.read_parquet(path).sort_values("conn").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, summarize_connections(tcpwatch.analyze(pcap)))


def test_conn_selection_and_empty_capture(tmp_path):
    out = tmp_path / "one.jsonl"
    _run("analyze", str(CAPTURES / "many_short.pcap"), "--conn", "7", "-q", "--conn-log",
         str(out))
    got = pd.read_json(out, lines=True)
    assert got["conn"].tolist() == [7]
    empty = PUBLIC / "tcpdump" / "tcp_eight_lowest_weight_flags_set.pcap"
    seg = tcpwatch.analyze(empty)
    assert len(seg)  # a one-segment capture: one row
    log = tmp_path / "x.log"
    _run("analyze", str(empty), "-q", "--conn-log", str(log))
    assert len(zeek_cut(log.read_text(), "uid")) == seg["conn"].nunique()


@pytest.mark.parametrize("name, words", [
    ("x.txt", ["unknown extension '.txt'", ".log"]),
    ("nofolder/x.log", ["no folder"]),
])
def test_bad_conn_log_path(name, words, tmp_path):
    res = run_cli("analyze", str(CAPTURES / "many_short.pcap"), "--conn-log",
                  str(tmp_path / name))
    assert_one_line_error(res, *words)
    assert not list(tmp_path.iterdir())


def _tshark(pcap: Path, *fields: str) -> pd.DataFrame:
    args = ["tshark", "-2", "-r", str(pcap), "-Y", "tcp", "-T", "fields",
            "-E", "separator=/t", "-E", "occurrence=f"]
    for f in fields:
        args += ["-e", f]
    text = subprocess.run(args, capture_output=True, text=True, check=True,
                          timeout=60).stdout
    rows = [line.split("\t") for line in text.splitlines()]
    return pd.DataFrame(rows, columns=list(fields)).replace("", np.nan)


TSHARK_CAPTURES = [CAPTURES / f"{n}.pcap" for n in
                   ("lossy_bulk", "handshake_echo_close", "port_reuse", "syn_after_rst",
                    "ipv6_echo")] + [PUBLIC / "zeek" / "http-get.pcap"]


@needs_tshark
@pytest.mark.parametrize("pcap", TSHARK_CAPTURES, ids=lambda p: p.stem)
def test_irtt_options_in_flight_agree_with_tshark(pcap):
    """Out-of-order and lost counts = tshark's flags per stream; iRTT =
    tcp.analysis.initial_rtt where tshark shows it (it shows it only on a
    segment with other analysis; a stream whose handshake ACK has none gets ours alone);
    each side's MSS, window scale, SACK-permitted and timestamps = the options of the
    client's SYN and the server's SYN+ACK; max bytes in flight = the largest
    tcp.analysis.bytes_in_flight of each side's segments."""
    want = _tshark(pcap, "tcp.stream", "tcp.flags.syn", "tcp.flags.ack",
                   "tcp.analysis.initial_rtt", "tcp.options.mss_val",
                   "tcp.options.wscale.shift", "tcp.options.sack_perm",
                   "tcp.options.timestamp.tsval", "tcp.analysis.bytes_in_flight",
                   "tcp.analysis.out_of_order", "tcp.analysis.lost_segment")
    seg = tcpwatch.analyze(pcap)
    assert len(want) == len(seg)
    got = summarize_connections(seg).set_index("conn")
    want["stream"] = want["tcp.stream"].astype(int)
    want["role"] = seg["role"].astype(str).to_numpy()
    assert (want["stream"].to_numpy() == seg["conn"].to_numpy()).all()
    for col, field in (("out_of_order", "tcp.analysis.out_of_order"),
                       ("lost_segments", "tcp.analysis.lost_segment")):
        counts = want[field].notna().groupby(want["stream"]).sum()
        assert got[col].tolist() == counts.reindex(got.index).tolist(), col
    irtt = want.dropna(subset=["tcp.analysis.initial_rtt"]).groupby("stream").first()
    assert len(irtt)
    for stream_, v in irtt["tcp.analysis.initial_rtt"].items():
        assert got.loc[stream_, "irtt"] == pytest.approx(float(v), abs=1e-6), stream_
    syn = want["tcp.flags.syn"].isin(["1", "True"])
    ack = want["tcp.flags.ack"].isin(["1", "True"])
    for side, opens in (("client", syn & ~ack & (want["role"] == "client")),
                        ("server", syn & ack & (want["role"] == "server"))):
        first = want[opens].groupby("stream").first()
        for stream_, row in got.iterrows():
            if stream_ not in first.index:
                assert pd.isna(row[f"mss_{side}"]) and pd.isna(row[f"sack_perm_{side}"])
                continue
            w = first.loc[stream_]
            for col, field in (("mss", "tcp.options.mss_val"),
                               ("wscale", "tcp.options.wscale.shift")):
                assert (pd.isna(row[f"{col}_{side}"]) if pd.isna(w[field]) else
                        row[f"{col}_{side}"] == int(w[field])), (stream_, col)
            assert bool(row[f"sack_perm_{side}"]) == pd.notna(w["tcp.options.sack_perm"])
            assert bool(row[f"timestamps_{side}"]) == pd.notna(w["tcp.options.timestamp.tsval"])
        bif = pd.to_numeric(want["tcp.analysis.bytes_in_flight"])
        most = bif[want["role"] == side].groupby(want["stream"]).max()
        for stream_, row in got.iterrows():
            w = most.get(stream_, np.nan)
            assert (pd.isna(row[f"max_in_flight_{side}"]) if pd.isna(w) else
                    row[f"max_in_flight_{side}"] == int(w)), (stream_, side)


@pytest.mark.parametrize("args", [(), ("--segments",)], ids=["streamed", "whole-table"])
def test_segment_parquet_keeps_the_dtypes(args, tmp_path):
    """pd.read_parquet of ``-o x.parquet`` gives the dtypes tcpwatch.analyze() gives
    (nullable integers stay integers, categories stay categories); the SACK lists come
    back as lists of the same numbers; ``ts_utc`` is ``ts_ns`` as a UTC timestamp."""
    pcap = CAPTURES / "lossy_bulk.pcap"  # SACK blocks, options absent on most segments
    out = tmp_path / "seg.parquet"
    res = CliRunner().invoke(app, ["analyze", str(pcap), "-q", "-o", str(out), *args],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    want = tcpwatch.analyze(pcap)
    got = pd.read_parquet(out)
    assert list(got.columns) == [*want.columns, "ts_utc"]
    for name in want.columns:
        if name == "sack":
            assert [list(x) for x in got[name]] == [list(x) for x in want[name]]
            continue
        assert got[name].dtype == want[name].dtype, name
        pd.testing.assert_series_equal(got[name], want[name], obj=name)
    assert got["mss"].isna().any() and str(got["bytes_in_flight"].dtype) == "Int64"
    assert str(got["ts_utc"].dtype) == "datetime64[ns, UTC]"
    assert (got["ts_utc"] == pd.to_datetime(want["ts_ns"], unit="ns", utc=True)).all()


def test_a_failed_run_leaves_no_conn_log(tmp_path):
    bad = tmp_path / "bad.pcap.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00rest")
    res = run_cli("analyze", str(bad), "--conn-log", str(tmp_path / "c.log"))
    assert_one_line_error(res, "gzip-compressed")
    assert not (tmp_path / "c.log").exists()


def test_a_capture_without_connections_gives_the_same_columns(tmp_path):
    full, empty = tmp_path / "full.csv", tmp_path / "empty.csv"
    _run("analyze", str(CAPTURES / "many_short.pcap"), "-q", "--conn-log", str(full))
    _run("analyze", str(PUBLIC / "chrissanders-packets" / "stranded_clientside.pcapng"),
         "-q", "--conn-log", str(empty))
    assert list(pd.read_csv(empty).columns) == list(pd.read_csv(full).columns)
    assert len(pd.read_csv(empty)) == 0
