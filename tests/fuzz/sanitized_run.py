"""Run inside a python that has the ASan/UBSan build of the extension first
(``python -m tests.fuzz.sanitized_run SO``, environment from cbuild.sanitizer_env):
every capture in the repo and the fuzz corpus through the offline pipeline and the live
session, the C entry-point checks, a short derandomised fuzz slice, and generated frames
(tests/reference/frames_gen.py) through the frame walk.  A sanitizer
report aborts the process; the parent test (test_sanitizers.py) checks for it."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from dataclasses import replace
from pathlib import Path


def load_first(so: Path) -> None:
    """Make ``so`` the module every ``from .. import _seqwalk`` in tcpwatch gets."""
    spec = importlib.util.spec_from_file_location("tcpwatch._seqwalk", so)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tcpwatch._seqwalk"] = module
    spec.loader.exec_module(module)


def main() -> int:
    so = Path(sys.argv[1]).resolve()
    load_first(so)
    import pytest
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    import tcpwatch
    from tcpwatch.capture.pcapfile import CaptureReader
    from tcpwatch.engine import native
    from tcpwatch.engine.incremental import IncrementalEngine
    from tcpwatch.errors import TcpwatchError

    from .mutate import REPO, fuzzed_capture, seed_paths
    from .oracle import check

    assert Path(native._seqwalk.__file__).resolve() == so, native._seqwalk.__file__
    corpus = sorted((REPO / "tests" / "fuzz" / "corpus").glob("*.pcap*"))
    segments = 0
    for path in [*seed_paths(), *corpus]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                segments += len(tcpwatch.analyze(path, chunk_size=4096))
            except TcpwatchError:
                continue
            session = IncrementalEngine()
            for raw in CaptureReader(path, 1 << 16):
                for a in range(0, len(raw), 50):
                    cut = slice(a, a + 50)
                    session.add_frames(replace(
                        raw, off=raw.off[cut], caplen=raw.caplen[cut],
                        origlen=raw.origlen[cut], ts=raw.ts[cut], ts_ns=raw.ts_ns[cut],
                        linktype=raw.linktype[cut], frame=raw.frame[cut]))
            session.table()
    print(f"captures: {len(seed_paths())} + {len(corpus)} corpus files, {segments} segments",
          flush=True)

    code = pytest.main(["-q", "-p", "no:cacheprovider", "-x",
                        str(REPO / "tests" / "fuzz" / "test_c_entry_checks.py")])
    if code != 0:
        return int(code)

    tried = 0

    @settings(max_examples=60, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(fuzzed_capture(), st.sampled_from((64, 1000)))
    def fuzz(case, chunk):
        nonlocal tried
        tried += 1
        check(case[0], chunk)  # no memory_bound: ASan's shadow memory needs the address space

    fuzz()
    print(f"fuzz inputs: {tried}", flush=True)

    from tcpwatch.decode.frames import addresses, walk_frames

    from ..reference.frames_gen import batches

    walked = 0

    @settings(max_examples=150, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(batches())
    def frames(raw):
        nonlocal walked
        walked += 1
        fr = walk_frames(raw)
        addresses(fr.tcp), addresses(fr.quotes)

    frames()
    print(f"generated frame batches: {walked}", flush=True)
    print("sanitized run: OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
