from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: public captures from other projects, bundled in the repository (captures/public/SOURCES.md)
PUBLIC = REPO / "captures" / "public"


def public_captures() -> list[Path]:
    """Every bundled public capture. Never empty on a clone: a missing folder is an error,
    not a reason to run nothing."""
    found = sorted(p for p in PUBLIC.rglob("*") if p.suffix in (".pcap", ".pcapng"))
    if not found:
        raise FileNotFoundError(f"no public captures under {PUBLIC}: the clone is incomplete")
    return found


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, tcpdump)")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
