"""``tcpwatch columns``: what each column of the segment table holds."""

from __future__ import annotations

import click

from .params import command

HELP = """Describe the segment table's columns (what tcpwatch analyze -o writes and
tcpwatch.analyze() returns): name, type and meaning.

\b
Examples:
  tcpwatch columns
  tcpwatch columns --markdown"""


@command("columns", HELP)
@click.option("--markdown", is_flag=True, help="print the table as Markdown (the README's)")
def columns(markdown: bool) -> None:
    from ..column_docs import SEGMENT_COLUMN_DOCS
    from ..column_docs import markdown as as_markdown
    from ..report.fit import Column, fitted_table, report_console

    if markdown:
        print(as_markdown())
        return
    out = report_console()
    out.print(fitted_table([
        Column("column", [", ".join(n) for n, _k, _m in SEGMENT_COLUMN_DOCS]),
        Column("type", [k for _n, k, _m in SEGMENT_COLUMN_DOCS]),
        Column("meaning", [m for _n, _k, m in SEGMENT_COLUMN_DOCS]),
    ], out.width, title="The segment table's columns"))
