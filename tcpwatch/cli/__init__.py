"""Command-line interface: thin wrappers that parse, call the library, render."""

from __future__ import annotations

import os
import sys

#: set by a command that analysed a capture: the process then leaves without the
#: interpreter's teardown (freeing every object of a large analysis one by one took 0.3 s
#: on a 600k-segment capture).  Only ``analyze`` sets it: it owns no child process and no
#: thread once it returns, and every file it wrote is closed by then.
fast_exit = False


def leave_fast() -> None:
    global fast_exit
    fast_exit = True


def run() -> None:
    """The ``tcpwatch`` entry point: ``--version`` answers before click and rich load."""
    if sys.argv[1:] == ["--version"]:
        from .. import __version__

        print(f"tcpwatch {__version__}")
        return
    # live: from here on SIGINT/SIGTERM only ask it to stop (cli/stopping.py), even while
    # click, pandas and scapy load; ignored again for the interpreter's shutdown
    live = next((a for a in sys.argv[1:] if a != "--traceback"), None) == "live"
    if live:
        from . import stopping

        stopping.catch()
        stopping.for_process = True
    # Arrow's allocations (the Parquet encoders' pages, dictionaries) from the system
    # allocator, not pyarrow's default mimalloc, which keeps what it freed: a streamed
    # `analyze -o x.parquet` of 600k segments peaked 20-30 MB lower at the same speed.
    # Read when Arrow makes its first allocation, so here; the C++ Parquet writer takes
    # no pool argument and ignores pyarrow.set_memory_pool().  A user's setting wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from .main import main

    try:
        main()
    except SystemExit as exc:
        if live:
            stopping.ignore()
        if fast_exit:
            code = exc.code if isinstance(exc.code, int) else (exc.code is not None)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise
