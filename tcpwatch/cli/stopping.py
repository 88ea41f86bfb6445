"""How ``tcpwatch live`` stops: SIGINT (Ctrl-C) and SIGTERM, any number of them, at any
moment, end it the same way -- the capture stops (or never starts), the files are
completed, the summary is printed, exit 0.

Python's own SIGINT handler raises ``KeyboardInterrupt`` wherever the main thread is:
inside an import at start-up (a traceback, no file), inside a write or the summary (a
cut file).  And once the interpreter finalizes it puts back the default action of every
signal that has a Python handler, so a late signal kills the process (the shell says
130) after the summary.  So:

- the entry point calls ``catch`` first thing, before click, pandas or scapy load: from
  then on a signal only records that a stop was asked (``stop["why"]``, the first
  signal's name), and the capture loop reads that between batches;
- once the capture has stopped, ``ignore`` sets both signals to SIG_IGN: writing the
  files and printing the summary run to the end, and an ignored signal stays ignored
  through the interpreter's shutdown (finalization restores only handled signals).

Only the interpreter's own start-up, before tcpwatch's first line runs (a few tens of
ms), is left: a signal then ends the process as it ends any Python program.  Python
runs a handler in the main thread whichever thread the kernel interrupted, and the
system calls it interrupted are resumed (PEP 475), so the sniffer's thread and the
writes carry on.
"""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: why live stopped: the first stop signal's name, or what live itself sets
#: ("duration", "count", "write error"); None while it runs
stop: dict[str, str | None] = {"why": None}


def _record(signum: int, frame: FrameType | None) -> None:
    if stop["why"] is None:
        stop["why"] = signal.Signals(signum).name


#: True when the entry point caught the signals: the process ends with the command, and
#: they stay ignored to its end. Called in a process that goes on (tests, a Python caller
#: of ``main``), live puts back what it found when it returns (:func:`release`).
for_process = False
#: the handlers ``catch`` replaced
_saved: dict[int, object] = {}


def catch() -> None:
    """From now on SIGINT and SIGTERM only record a stop (idempotent: a stop recorded
    before is kept)."""
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is not _record:
            _saved.setdefault(sig, signal.getsignal(sig))
            signal.signal(sig, _record)


def release() -> None:
    """The command is over: in a process that goes on (not :data:`for_process`), the
    handlers ``catch`` replaced come back and the stop is forgotten -- a SIGINT ignored
    here would be ignored by every child process started later too (SIG_IGN is
    inherited across exec, and Python then installs no KeyboardInterrupt handler)."""
    if for_process:
        return
    for sig, handler in _saved.items():
        signal.signal(sig, handler)
    _saved.clear()
    stop["why"] = None


def ignore() -> None:
    """From now on SIGINT and SIGTERM are ignored, to the end of the process."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
