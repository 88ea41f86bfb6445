"""Command-line interface: thin wrappers that parse, call the library, render."""

from __future__ import annotations

import os
import sys

#: commands that leave without the interpreter's teardown (freeing every object of a
#: large analysis one by one took 0.3 s on a 600k-segment capture): they own no child
#: process and no thread once they return, and every file they write is closed by then
_FAST_EXIT = {"analyze"}


def run() -> None:
    """The ``tcpwatch`` entry point: ``--version`` answers before typer and rich load."""
    if sys.argv[1:] == ["--version"]:
        from .. import __version__

        print(f"tcpwatch {__version__}")
        return
    from .main import main

    try:
        main()
    except SystemExit as exc:
        if sys.argv[1:2] and sys.argv[1] in _FAST_EXIT:
            code = exc.code if isinstance(exc.code, int) else (exc.code is not None)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise
