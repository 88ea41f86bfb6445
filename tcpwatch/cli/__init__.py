"""Command-line interface: thin wrappers that parse, call the library, render."""

from __future__ import annotations

import sys


def run() -> None:
    """The ``tcpwatch`` entry point: ``--version`` answers before typer and rich load."""
    if sys.argv[1:] == ["--version"]:
        from .. import __version__

        print(f"tcpwatch {__version__}")
        return
    from .main import main

    main()
