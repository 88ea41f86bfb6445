from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: the shared data folder lies beside the repository (CI: ../shared of the clone)
SHARED = Path(os.environ.get("TCPWATCH_SHARED", REPO.parent / "shared"))
PUBLIC = SHARED / "pcaps" / "public"


def public_captures() -> list[Path]:
    if not PUBLIC.is_dir():
        return []
    return sorted(p for p in PUBLIC.rglob("*") if p.suffix in (".pcap", ".pcapng"))


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, tcpdump)")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
