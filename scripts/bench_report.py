"""Measure ``tcpwatch report`` on a capture: the analysis, the page's making, its size, and
the time Debian's headless chromium takes to open it (navigation until every graph is
drawn).  Big captures come from scripts/bench_capture.py.

    .venv/bin/python scripts/bench_report.py CAPTURE [OUT.html] [--top N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import tcpwatch
from tcpwatch.report_html import write_report

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
#: the connection table built (it works before plotly.js is read)
TABLE = "() => { const s = document.getElementById('shown'); return s && s.textContent; }"
#: the table built and the graphs on the first screen drawn
FIRST = ("() => document.getElementById('shown').textContent && Array.from("
         "document.querySelectorAll('div.plot')).filter(d => d.getBoundingClientRect().top"
         " < innerHeight).every(d => d.querySelector('.main-svg'))")
RENDERED = ("() => Array.from(document.querySelectorAll('div.plot')).every("
            "d => d._fullLayout && d.querySelector('.main-svg'))")


def open_seconds(path: Path, runs: int = 3) -> list[tuple[float, float, float]]:
    """Seconds from navigation to the table built, to the first screen drawn, and to
    every graph drawn (scrolled to, one after another), each run in a fresh tab."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            t = time.perf_counter()
            page.goto(path.resolve().as_uri(), timeout=300_000, wait_until="commit")
            page.wait_for_function(TABLE, timeout=300_000, polling=50)
            table = time.perf_counter() - t
            page.wait_for_load_state("load", timeout=300_000)
            page.wait_for_function(FIRST, timeout=300_000)
            first = time.perf_counter() - t
            for div in page.locator("div.plot").all():  # graphs are drawn near the screen
                div.scroll_into_view_if_needed()
                page.wait_for_function("d => d.querySelector('.main-svg')",
                                       arg=div.element_handle(), timeout=300_000)
            page.wait_for_function(RENDERED, timeout=300_000)
            out.append((table, first, time.perf_counter() - t))
            if errors:
                raise SystemExit(f"page errors: {errors}")
            page.close()
        browser.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("capture", type=Path)
    p.add_argument("out", type=Path, nargs="?", default=Path("/tmp/bench_report.html"))
    p.add_argument("--top", type=int, default=5)
    a = p.parse_args()
    t = time.perf_counter()
    segs = tcpwatch.analyze(a.capture)
    t_analyze = time.perf_counter() - t
    t = time.perf_counter()
    write_report(segs, a.out, source=str(a.capture), top=a.top)
    t_report = time.perf_counter() - t
    size = a.out.stat().st_size
    opened = open_seconds(a.out)
    print(f"{a.capture}: {len(segs)} segments, {segs['conn'].nunique()} connections; "
          f"analyze {t_analyze:.1f} s, report {t_report:.1f} s, {size / 1e6:.1f} MB; "
          f"open in chromium: table {_span([o[0] for o in opened])}, first screen "
          f"{_span([o[1] for o in opened])}, every graph drawn (scrolled to) "
          f"{_span([o[2] for o in opened])}")


def _span(xs: list[float]) -> str:
    return f"{min(xs):.1f}-{max(xs):.1f} s"


if __name__ == "__main__":
    main()
