"""tcpwatch: watch real TCP connections and explain them segment by segment."""

from .errors import CaptureError, DecodeError, TcpwatchError
from .pipeline import CaptureSummary, CaptureWarning, analyze, read_segments
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
    "read_segments",
]
__version__ = "0.1.0"
