"""The console tables print on, and tables that fit its width without cutting a number.

Each column says whether its cells are numbers (never wrapped, never cut) or text (wrapped
at spaces, never inside a word).  Columns are kept in order of importance while their
narrowest widths fit; the rest are named in the caption.  The widths are computed here and
given to rich as fixed widths, so rich never shrinks a column below what its cells need.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported where a table is printed: `analyze -q` needs none
    from rich.console import Console
    from rich.table import Table

#: width of tables when stdout is not a terminal (a pipe or a file) and COLUMNS is unset
PIPE_WIDTH = 200
#: connections shown by default: a terminal table of 100,000 rows helps nobody
TOP = 50


def console() -> Console:
    """A stdout console: the terminal's width; in a pipe, ``COLUMNS`` if set, else a wide
    one (no wrapping)."""
    from rich.console import Console

    probe = Console()
    if probe.is_terminal:
        return Console(highlight=False, soft_wrap=True)
    cols = os.environ.get("COLUMNS", "")
    return Console(highlight=False, soft_wrap=True,
                   width=int(cols) if cols.isdigit() and int(cols) > 0 else PIPE_WIDTH)

#: what each column costs beside its cells: one space each side and one border
PER_COLUMN = 3


@dataclass(frozen=True)
class Column:
    header: str
    cells: list[str]
    numeric: bool = False  # right-aligned, never wrapped
    rank: int = 0  # 0 is the most important; equal ranks keep their order

    @cached_property
    def narrowest(self) -> int:
        words = self.header.split()
        if self.numeric:
            need = max((len(c) for c in self.cells), default=0)
        else:
            need = max((len(w) for c in self.cells for w in c.split()), default=0)
        return max(need, *(len(w) for w in words), 1)

    @cached_property
    def widest(self) -> int:
        """Wide enough for every cell on one line (a header may still wrap)."""
        return max([self.narrowest, *(len(c) for c in self.cells)])


def fitted_table(columns: list[Column], width: int, *, title: str,
                 caption: str | None = None) -> Table:
    """A rich Table no wider than ``width``; columns that do not fit are left out and
    named in the caption."""
    from rich.table import Table

    by_rank = sorted(range(len(columns)), key=lambda i: (columns[i].rank, i))
    kept: list[int] = []
    used = 1
    for i in by_rank:
        need = columns[i].narrowest + PER_COLUMN
        if used + need <= width or not kept:
            kept.append(i)
            used += need
    kept.sort()
    widths = {i: columns[i].narrowest for i in kept}
    spare = width - used
    # the spare width unwraps whole columns, those needing least of it first (most lines
    # saved); what is left widens the most important ones
    for i in sorted(kept, key=lambda i: (columns[i].widest - widths[i], i)):
        more = columns[i].widest - widths[i]
        if more <= spare:
            widths[i] += more
            spare -= more
    for i in sorted(kept, key=lambda i: (columns[i].rank, i)):
        more = min(spare, columns[i].widest - widths[i])
        widths[i] += more
        spare -= more
    hidden = [columns[i].header for i in range(len(columns)) if i not in widths]
    notes = [caption] if caption else []
    if hidden:
        notes.append(f"not shown at {width} columns: {', '.join(hidden)}")
    # the console prints with soft_wrap (pipes are never wrapped): wrap title and notes here
    table = Table(title=textwrap.fill(title, width), title_justify="left",
                  caption="\n".join(textwrap.fill(n, width) for n in notes) or None,
                  caption_justify="left")
    for i in kept:
        c = columns[i]
        # numbers fit their width, so only headers and text wrap (at spaces)
        table.add_column(c.header, justify="right" if c.numeric else "left", width=widths[i],
                         overflow="fold")
    for row in zip(*(columns[i].cells for i in kept), strict=True):
        table.add_row(*row)
    return table
