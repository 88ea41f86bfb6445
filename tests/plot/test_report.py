"""``tcpwatch report`` opened in a real headless browser (Debian's chromium, driven by
playwright): no console error, no request leaves the page, the connection table sorts and
filters as pandas does, hovering a graph's point shows that segment's frame; a screenshot
of each page is saved under ``artifacts/screenshots/``.  ``live --report`` writes the
same report of a real loopback capture when live ends."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tcpwatch
from tcpwatch.cli.main import main
from tcpwatch.plot import rtt
from tcpwatch.plot.choose import busiest, conn_rows
from tcpwatch.plot.page import plotly_js
from tcpwatch.report_html import section, table, write_report
from tcpwatch.report_html.section import data_direction, explained

from ..conftest import REPO, needs_root
from ..live.test_live import echo_connections

CAPTURES = REPO / "captures"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
#: captures of different endings merged into one, so the table has something to sort
MIXED = ("lossy_bulk", "zero_window", "rst_abort", "connection_refused", "syn_timeout",
         "half_close", "simultaneous_close", "handshake_echo_close", "port_reuse",
         "many_short")
#: connections drawn in the mixed report (each page costs its graphs' drawing time)
DRAWN = 1
#: rows the mixed report's table shows at once (of its 410)
PAGE = 150
#: every plot drawn: a Plotly graph div with its SVG in place
RENDERED = ("() => Array.from(document.querySelectorAll('div.plot')).every("
            "d => d._fullLayout && d.querySelector('.main-svg'))")


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), f"no {CHROMIUM}: scripts/setup installs Debian's chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(segment table, connection summary, report, capture): the repo's captures merged;
    the table shows :data:`PAGE` rows at a time (the page's script adds more on a click)."""
    mergecap = shutil.which("mergecap")
    assert mergecap, "mergecap (Wireshark) is needed to merge the captures"
    d = tmp_path_factory.mktemp("report")
    cap = d / "mixed.pcapng"
    subprocess.run([mergecap, "-w", str(cap), *(str(CAPTURES / f"{n}.pcap") for n in MIXED)],
                   check=True, timeout=60)
    segs = tcpwatch.analyze(cap)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(table, "PAGE", PAGE)
        write_report(segs, d / "mixed.html", source=str(cap), top=DRAWN)
    return segs, tcpwatch.summarize_connections(segs), d / "mixed.html", cap


class Opened:
    """A report open in a browser tab, with everything the page said and asked for."""

    def __init__(self, browser, path: Path):
        self.url = path.resolve().as_uri()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url)
        # graphs are drawn as they come near the screen: scroll to each, as a reader would
        for div in self.page.locator("div.plot").all():  # each drawn before the next
            div.scroll_into_view_if_needed()
            self.page.wait_for_function("d => d.querySelector('.main-svg')",
                                        arg=div.element_handle(), timeout=30_000)
        self.page.wait_for_function(RENDERED, timeout=30_000)

    def foreign(self) -> list[str]:
        """Requests for anything but the page itself (data: and blob: are the page's)."""
        return [u for u in self.requests
                if u.split("#")[0] != self.url and not u.startswith(("data:", "blob:"))]

    def column(self, name: str) -> list[str]:
        """The text of a column's cells in the rows shown, top to bottom."""
        return self.page.evaluate(
            """(name) => {
              const j = Array.from(document.querySelectorAll('#conns thead th'))
                .findIndex(th => th.dataset.col === name);
              return Array.from(document.querySelectorAll('#conns tbody tr'))
                .filter(tr => !tr.hidden).map(tr => tr.cells[j].textContent);
            }""", name)

    def shot(self, name: str, capsys) -> None:
        """The whole page, and its first screen (for the README), as NAME.png and
        NAME-top.png under artifacts/screenshots/ (CI keeps the folder)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-top.png"))
        with capsys.disabled():
            print(f"\nscreenshots: {SCREENSHOTS.relative_to(REPO)}/{name}.png, {name}-top.png")


@pytest.fixture(scope="module")
def mixed_page(browser, mixed):
    opened = Opened(browser, mixed[2])
    yield opened
    opened.page.close()


def test_the_report_is_offline_error_free_and_draws_the_busiest(mixed, mixed_page, capsys):
    segs, _, html, _ = mixed
    assert mixed_page.errors == []
    assert mixed_page.foreign() == []
    text = html.read_text().replace(plotly_js(), "")  # plotly.js names its own site
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    drawn = busiest(segs, DRAWN)
    assert mixed_page.page.locator("section.conn").count() == DRAWN
    for c in drawn:  # one section each
        assert mixed_page.page.locator(f"section#conn-{c}").count() == 1
    n = segs["conn"].nunique()
    shown = mixed_page.page.locator("#shown")
    for rows in (PAGE, 2 * PAGE, n):  # a page of rows, then one more on each click
        assert mixed_page.page.locator("#conns tbody tr").count() == rows
        assert shown.inner_text() == f"{n} of {n} connections" + (
            f" (the first {rows} shown)" if rows < n else "")
        if rows < n:
            mixed_page.page.locator("#more").click()
    assert mixed_page.page.locator("#more").is_hidden()
    for c in drawn:  # every row shown: each drawn connection's is linked to its section
        assert mixed_page.page.locator(f'#conns a[href="#conn-{c}"]').count() == 1
    mixed_page.shot("report-mixed", capsys)


def test_the_table_sorts_numbers_as_numbers(mixed, mixed_page):
    summary = mixed[1]
    head = mixed_page.page.locator('#conns th[data-col="bytes_client"]')
    head.click()  # sorted, from the first page on
    got = [int(v) for v in mixed_page.column("bytes_client")]
    assert got == sorted(summary["bytes_client"].astype(int).tolist())[:PAGE]
    head.click()  # again: descending, ties in the table's order
    want = summary.sort_values("bytes_client", ascending=False, kind="stable")
    assert [int(v) for v in mixed_page.column("conn")] == (
        want["conn"].astype(int).tolist()[:PAGE])
    assert head.get_attribute("aria-sort") == "descending"


@pytest.mark.parametrize(("query", "want"), [
    ('ended:"rst by"', lambda s: s["ended"].str.contains("RST by")),  # not "first"
    ("state:RST", lambda s: s["conn_state"].str.contains("RST")),
    ("retransmissions>0", lambda s: s["retransmissions"] > 0),
    ("conn_state=SF 10.242", lambda s: (s["conn_state"] == "SF") & (
        s["client"].str.contains("10.242", regex=False))),
    ("no-such-thing", lambda s: s["conn"] < 0),
])
def test_the_table_filters_like_pandas(mixed, mixed_page, query, want):
    summary = mixed[1]
    box = mixed_page.page.locator("#filter")
    box.fill(query)
    n = int(want(summary).sum())
    assert len(mixed_page.column("conn")) == n
    assert mixed_page.page.locator("#shown").inner_text() == f"{n} of {len(summary)} connections"
    box.fill("")
    assert len(mixed_page.column("conn")) == min(PAGE, len(summary))


def test_hovering_a_graph_shows_the_segments_frame(mixed, mixed_page):
    segs = mixed[0]
    conn = busiest(segs, 1)[0]  # lossy_bulk's connection
    rows = conn_rows(segs, conn)
    points = rtt.data(rows, direction=data_direction(rows)).points
    assert len(points) > 10
    page, div = mixed_page.page, f"conn{conn}-rtt"
    page.locator(f"#{div}").scroll_into_view_if_needed()
    # every point's pixel, by Plotly's own axis conversion
    px = np.array(page.evaluate(
        """([id, xs, ys]) => {
          const gd = document.getElementById(id), fl = gd._fullLayout;
          const r = gd.getBoundingClientRect();
          gd.on('plotly_hover', e => { window.hovered = e.points.map(p => p.customdata); });
          return xs.map((x, i) => [r.left + fl._size.l + fl.xaxis.l2p(x),
                                   r.top + fl._size.t + fl.yaxis.l2p(ys[i])]);
        }""", [div, points["t"].tolist(), points["rtt_ms"].tolist()]))
    # the point farthest from its nearest neighbour: the one the mouse surely finds
    gap = np.linalg.norm(px[:, None, :] - px[None, :, :], axis=2)
    np.fill_diagonal(gap, np.inf)
    i = int(gap.min(axis=1).argmax())
    page.mouse.move(float(px[i, 0]), float(px[i, 1]))
    page.wait_for_function("() => window.hovered !== undefined", timeout=5000)
    frame = int(points["frame"].iloc[i])
    assert page.evaluate("window.hovered") == [frame]
    label = page.locator(".hoverlayer .hovertext").first.text_content()
    assert label.startswith(f"frame {frame} ")
    row = segs[segs["frame"] == frame].iloc[0]
    assert f"[{row['flag_str']}] seq {row['rel_seq']} ack {row['rel_ack']}" in label
    assert mixed_page.errors == [] and mixed_page.foreign() == []


def test_explain_lines_are_capped_and_counted(monkeypatch):
    segs = tcpwatch.analyze(CAPTURES / "upstream_loss.pcap")
    rows = conn_rows(segs, 0)
    every = tcpwatch.explain(rows)
    assert len(every) > 100
    # told from the rows up to the last one shown: the same lines as from all of them
    assert explained(rows, 40) == (every[:40], len(every))
    monkeypatch.setattr(section, "EXPLAIN_SHOWN", 40)
    page = section.section_html(rows, tcpwatch.episodes(rows), {}, (), "x y.pcap")
    assert page.count("\n#") == 39 and f"and {len(every) - 40} more lines: tcpwatch " \
        "analyze &#x27;x y.pcap&#x27; --explain --conn 0" in page


def test_report_command_writes_the_page(tmp_path, capsys):
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as end:
        main(["report", str(CAPTURES / "rst_abort.pcap"), "--conn", "0", "-o", str(out)])
    assert end.value.code == 0
    assert f"wrote {out}" in capsys.readouterr().err
    page = out.read_text()
    assert page.count('<section class="conn"') == 1 and 'id="conn-0"' in page
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page


def test_a_display_filter_chooses_what_is_drawn(mixed, tmp_path, capsys):
    segs, _, _, cap = mixed
    out = tmp_path / "zw.html"
    flagged = segs[segs["events"].astype(str).str.contains("zero_window")]
    want = busiest(segs[segs["conn"].isin(flagged["conn"])], 1)
    with pytest.raises(SystemExit) as end:
        main(["report", str(cap), "-Y", "tcp.analysis.zero_window", "--top", "1", "-o",
              str(out)])
    assert end.value.code == 0, capsys.readouterr().err
    drawn = re.findall(r'<section class="conn" id="conn-(\d+)">', out.read_text())
    assert [int(c) for c in drawn] == want and want != busiest(segs, 1)


def test_report_errors_are_one_line(tmp_path, capsys):
    cap = str(CAPTURES / "rst_abort.pcap")
    for args, said in (([cap, "-o", str(tmp_path / "r.png")], "unknown extension '.png'"),
                       ([cap, "--conn", "99", "-o", str(tmp_path / "r.html")],
                        "no connection 99 in")):
        with pytest.raises(SystemExit) as end:
            main(["report", *args])
        err = capsys.readouterr().err
        assert end.value.code == 2 and said in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


@needs_root
def test_live_writes_the_report_of_what_it_captured(tmp_path):
    port, pcap, out = 61250, tmp_path / "live.pcap", tmp_path / "live.html"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tcpwatch", "live", "--port", str(port), "--serve", "thread",
         "--write", str(pcap), "--report", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = proc.stderr.readline()
        assert "capturing on lo" in line, line
        echo_connections(port, 3)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"wrote {out}" in err
    segs = tcpwatch.analyze(pcap)
    assert segs["conn"].nunique() == 3
    table = re.search(r'<script id="conn-data" type="application/json">(.*?)</script>',
                      out.read_text(), re.S)
    assert table is not None
    rows = json.loads(table.group(1))["rows"]
    assert sorted(r[0] for r in rows) == sorted(segs["conn"].unique().tolist())
    assert len(re.findall(r'<section class="conn" id="conn-\d+">', out.read_text())) == 3
