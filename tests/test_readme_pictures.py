"""The README's pictures are what its `tcpwatch plot` commands make from captures in the
repository (issue 14): every picture the README shows exists, every command that writes
one runs, and what it writes now has the committed picture's size in pixels (the figure's
layout: rows of a ladder, panels). Pixels themselves differ with fonts and versions."""

from __future__ import annotations

import re
import shlex
import struct
from pathlib import Path

import pytest

from .conftest import REPO
from .test_cli_values import tcpwatch_here

README = (REPO / "README.md").read_text()
SHOWN = re.findall(r"!\[[^\]]*\]\((docs/img/[^)]+)\)", README)
MADE = {m[2]: shlex.split(m[1]) for m in re.finditer(
    r"^\.venv/bin/tcpwatch plot (captures/\S+ .*?-o (docs/img/\S+\.png))\s*$", README,
    re.MULTILINE)}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_every_picture_shown_exists_and_plots_are_made_by_a_command() -> None:
    assert len(SHOWN) >= 5 and all((REPO / p).is_file() for p in SHOWN), SHOWN
    plots = [p for p in SHOWN if Path(p).name != "report.png"]
    assert sorted(plots) == sorted(MADE), (plots, sorted(MADE))
    kinds = {argv[i + 1] for argv in MADE.values() for i, a in enumerate(argv)
             if a == "--kind"}
    assert kinds == {"ladder", "seq", "window", "rtt", "throughput"}


@pytest.mark.parametrize("picture", sorted(MADE))
def test_the_command_makes_the_picture(picture: str, tmp_path: Path) -> None:
    argv = [str(REPO / a) if a.startswith("captures/") else a for a in MADE[picture]]
    argv[argv.index(picture)] = "out.png"
    res = tcpwatch_here(tmp_path, "plot", *argv)
    assert res.returncode == 0, res.stderr
    assert png_size((tmp_path / "out.png").read_bytes()) == png_size(
        (REPO / picture).read_bytes())
