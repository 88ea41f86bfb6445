"""Every capture of the suite, analysed once per test session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
PATTERNS = ("captures/*.pcap", "captures/public/**/*.pcap", "captures/public/**/*.pcapng",
            "captures/regress/**/*.pcap", "captures/regress/**/*.pcapng")


def suite_captures() -> list[Path]:
    """captures/*.pcap, captures/public/**, captures/regress/**; never empty."""
    found = sorted({p for pattern in PATTERNS for p in REPO.glob(pattern)})
    if not found:
        raise FileNotFoundError(f"no captures under {REPO / 'captures'}")
    return found


def capture_id(path: Path) -> str:
    """A short test id: the path below captures/."""
    return str(path.relative_to(REPO / "captures"))


@cache
def analysed(path: Path) -> pd.DataFrame:
    """The whole pipeline's table for one capture (warnings about the file ignored)."""
    import warnings

    from tcpwatch.engine.pipeline import analyze

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(path)
