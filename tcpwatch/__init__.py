"""tcpwatch: watch real TCP connections and explain them segment by segment.

The pipeline (numpy, pandas, pyarrow) is imported on first use of what needs it, so the
bundled servers, the scenario drivers and ``tcpwatch --help`` start without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import CaptureError, DecodeError, TcpwatchError

if TYPE_CHECKING:
    from .engine.pipeline import CaptureSummary, CaptureWarning, analyze, read_segments
    from .filter import select
    from .report.episodes import episodes
    from .report.explain import explain
    from .report.summary import summarize_connections
    from .vocab import SEGMENT_COLUMNS, Col

__all__ = [
    "SEGMENT_COLUMNS",
    "CaptureError",
    "CaptureSummary",
    "CaptureWarning",
    "Col",
    "DecodeError",
    "TcpwatchError",
    "analyze",
    "episodes",
    "explain",
    "read_segments",
    "select",
    "summarize_connections",
]
__version__ = "0.1.0"

#: public name -> the module that defines it (imported when the name is first used)
_LAZY = {**dict.fromkeys(("analyze", "read_segments", "CaptureSummary", "CaptureWarning"),
                         ".engine.pipeline"),
         "SEGMENT_COLUMNS": ".vocab", "Col": ".vocab",
         "summarize_connections": ".report.summary", "episodes": ".report.episodes",
         "explain": ".report.explain", "select": ".filter"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
