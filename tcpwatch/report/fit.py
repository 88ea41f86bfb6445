"""The console tables print on, and tables that fit its width without cutting a number.

Each column says whether its cells are numbers (never wrapped, never cut) or text (wrapped
at spaces, never inside a word, into about two lines at most).  Columns are kept in order
of importance while their narrowest widths fit; the rest are named in the caption.  The
tables are drawn here (:class:`FittedTable`), in rich's style.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported where a table is printed: `analyze -q` needs none
    from rich.console import Console

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
    return Console(highlight=False, soft_wrap=True,
                   width=pipe_width())


def pipe_width() -> int:
    """Width of what is printed into a pipe or a file: ``COLUMNS`` if set, else wide."""
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) > 0 else PIPE_WIDTH


class PlainConsole:
    """Prints text and :class:`FittedTable` as they are: what a report needs in a pipe,
    where rich would add nothing but its import (and would read brackets as markup)."""

    def __init__(self, file=None, width: int | None = None):
        self.file = file or sys.stdout
        self.width = width or pipe_width()

    def print(self, *objects, markup: bool | None = None) -> None:
        print(*objects, file=self.file)


def report_console() -> Console | PlainConsole:
    """:func:`console` on a terminal (styles, the terminal's width), else plain text."""
    return console() if sys.stdout.isatty() else PlainConsole()

#: what each column costs beside its cells: one space each side and one border
PER_COLUMN = 3
#: a text column is at least this wide, or as wide as half its longest cell if less
TEXT_MIN = 30


@dataclass(frozen=True)
class Column:
    header: str
    cells: list[str]
    numeric: bool = False  # right-aligned, never wrapped
    rank: int = 0  # 0 is the most important; equal ranks keep their order
    styles: list[str | None] | None = None  # a rich style per cell, on a terminal

    @cached_property
    def narrowest(self) -> int:
        words = self.header.split()
        if self.numeric:
            need = max((len(c) for c in self.cells), default=0)
        else:  # its longest word, and room for its longest cell in two lines or so
            need = max((len(w) for c in self.cells for w in c.split()), default=0)
            half = max((len(c) for c in self.cells), default=0) // 2 + 1
            need = max(need, min(half, TEXT_MIN))
        return max(need, *(len(w) for w in words), 1)

    @cached_property
    def widest(self) -> int:
        """Wide enough for every cell on one line (a header may still wrap)."""
        return max([self.narrowest, *(len(c) for c in self.cells)])


def fitted_table(columns: list[Column], width: int, *, title: str,
                 caption: str | None = None) -> FittedTable:
    """A table no wider than ``width``; columns that do not fit are left out and named
    in the caption."""
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
    return FittedTable([columns[i] for i in kept], [widths[i] for i in kept],
                       textwrap.fill(title, width),
                       "\n".join(textwrap.fill(n, width) for n in notes))


@dataclass(frozen=True)
class FittedTable:
    """Columns laid out at fixed widths, drawn in rich's default box (a heavy head).

    Drawn here rather than by rich's Table: every width is already known, so a table
    is a few joins per row (rich measured and wrapped every cell again, 150 µs a cell).
    Numbers fit their width; text and headers wrap at spaces (a word longer than the
    width, which the widths never leave, would be cut into pieces).  Printed by a rich
    console (it is a renderable: the title in italics, the header in bold on a
    terminal) or as plain text (:meth:`lines`)."""

    columns: list[Column]
    widths: list[int]
    title: str  # wrapped at the width asked for, as the caption
    caption: str

    @property
    def row_count(self) -> int:
        return len(self.columns[0].cells) if self.columns else 0

    def _cell_lines(self, cells: list[str], bottom: bool) -> list[list[str]]:
        """A row's lines, each as its cells padded to their widths."""
        parts = [wrap(c, w) for c, w in zip(cells, self.widths, strict=True)]
        height = max(map(len, parts))
        out = []
        for k in range(height):
            line = []
            for part, w, col in zip(parts, self.widths, self.columns, strict=True):
                # headers sit at the bottom of their row, cells at the top
                at = k - (height - len(part)) if bottom else k
                text = part[at] if 0 <= at < len(part) else ""
                pad = " " * (w - cells_of(text))
                line.append(pad + text if col.numeric else text + pad)
            out.append(line)
        return out

    def _row(self, cells: list[str], left: str, mid: str, right: str, bottom: bool
             ) -> list[str]:
        return [left + " " + f" {mid} ".join(line) + " " + right
                for line in self._cell_lines(cells, bottom)]

    def _rule(self, left: str, line: str, mid: str, right: str) -> str:
        return left + mid.join(line * (w + 2) for w in self.widths) + right

    def parts(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """(title, head: top edge + header rows + rule, body rows + bottom edge,
        caption), each a list of lines."""
        head = [self._rule("┏", "━", "┳", "┓"),
                *self._row([c.header for c in self.columns], "┃", "┃", "┃", True),
                self._rule("┡", "━", "╇", "┩")]
        body = []
        for cells in zip(*(c.cells for c in self.columns), strict=True):
            body += self._row(list(cells), "│", "│", "│", False)
        body.append(self._rule("└", "─", "┴", "┘"))
        return self.title.splitlines(), head, body, self.caption.splitlines()

    def lines(self) -> list[str]:
        return [line for part in self.parts() for line in part]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __rich_console__(self, console, options):
        from rich.segment import Segment
        from rich.style import Style

        styles = (Style(italic=True), None, None, Style(italic=True, dim=True))
        head_style = Style(bold=True)
        title, head, body, caption = self.parts()
        for part, style in zip((title, head, body, caption), styles, strict=True):
            if part is body and any(c.styles for c in self.columns):
                yield from self._styled_body()
                continue
            for k, line in enumerate(part):
                if part is head and 0 < k < len(head) - 1:  # header text bold, not borders
                    yield from _header_segments(line, head_style)
                else:
                    yield Segment(line, style)
                yield Segment.line()

    def _styled_body(self):
        """The body with each cell in its column's style for it."""
        from rich.segment import Segment
        from rich.style import Style

        for r, cells in enumerate(zip(*(c.cells for c in self.columns), strict=True)):
            styles = [Style.parse(c.styles[r]) if c.styles and c.styles[r] else None
                      for c in self.columns]
            for line in self._cell_lines(list(cells), False):
                yield Segment("│ ")
                for i, (text, style) in enumerate(zip(line, styles, strict=True)):
                    yield Segment(text, style)
                    yield Segment(" │ " if i < len(line) - 1 else " │")
                yield Segment.line()
        yield Segment(self._rule("└", "─", "┴", "┘"))
        yield Segment.line()


@dataclass(frozen=True)
class FitToWidth:
    """:func:`fitted_table` at the width it is rendered in (a rich renderable: the live
    board, whose terminal can be resized while it runs)."""

    columns: list[Column]
    title: str

    def __rich_console__(self, console, options):
        table = fitted_table(self.columns, options.max_width, title=self.title)
        yield from table.__rich_console__(console, options)


def _header_segments(line: str, bold):
    from rich.segment import Segment

    pieces = line.split("┃")
    for k, piece in enumerate(pieces):
        if k:
            yield Segment("┃")
        if piece:
            yield Segment(piece, bold)


def cells_of(text: str) -> int:
    """Terminal cells ``text`` takes (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """Greedy wrap at spaces: a word goes to the next line when it does not fit on this
    one; a word wider than ``width`` is cut into pieces.  Lines keep no trailing spaces,
    and an empty text is one empty line."""
    lines: list[str] = []
    for para in text.split("\n"):
        line, used = "", 0
        for word in re.findall(r"\s*\S+\s*", para) or [para]:
            bare = word.rstrip()
            need = cells_of(bare)
            if used + need <= width:
                line += word
                used += cells_of(word)
                continue
            if line:
                lines.append(line.rstrip())
            while cells_of(word.rstrip()) > width:  # longer than a line: cut
                lines.append(word[:width])
                word = word[width:]
            line, used = word, cells_of(word)
        lines.append(line.rstrip())
    return lines
