"""Structure-aware fuzzing of the reader, the decoder and the whole pipeline (a short,
derandomised slice: the same inputs on every run; ``scripts/fuzz --minutes M`` runs
long).  The rules an input must keep are in oracle.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from .mutate import fuzzed_capture, seeds
from .oracle import Finding, Outcome, check, memory_bound, save

CI_EXAMPLES = 200
CHUNKS = (64, 97, 1000, 4096)
CRASHES = Path(__file__).resolve().parents[2] / ".fuzz-crashes"


def run_one(case: tuple[bytes, str], chunk: int) -> Outcome:
    data, notes = case
    note(notes)
    try:
        with memory_bound():
            return check(data, chunk)
    except Finding:
        save(data, CRASHES, hashlib.sha1(data).hexdigest()[:12])
        raise


@settings(max_examples=CI_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck), print_blob=True)
@given(fuzzed_capture(), st.sampled_from(CHUNKS))
def test_fuzzed_captures(case, chunk):
    run_one(case, chunk)


def test_every_seed_is_read():
    """The seeds are real captures with packets (an empty seed set would fuzz nothing)."""
    found = seeds()
    assert len(found) >= 40
    assert sum(len(s.packets) for s in found) > 500
    for s in found:
        assert s.packets or "stranded" in s.name, s.name


@pytest.mark.parametrize("seed", seeds(), ids=lambda s: s.name)
def test_seed_unchanged_passes(seed):
    """Each seed, rewritten by the fuzzer's writer unchanged, reads back the same packets."""
    from .mutate import Container, write

    for fmt in ("pcap", "pcapng"):
        data = write(seed.packets, Container(fmt=fmt))
        out = check(data)
        assert out.kind == "ok" and out.message == "", out.message


def test_memory_bound_stops_a_4gb_allocation():
    import numpy as np

    with memory_bound(), pytest.raises(MemoryError):
        np.empty(4 << 30, np.uint8)
    assert np.empty(1 << 20, np.uint8).nbytes == 1 << 20  # the bound is lifted again


def test_the_oracle_flags_a_foreign_exception(monkeypatch):
    import tcpwatch

    data = (Path(__file__).resolve().parents[2] / seeds()[0].name).read_bytes()
    assert check(data).kind == "ok"

    def broken(*args, **kwargs):
        raise KeyError("flags")

    monkeypatch.setattr(tcpwatch, "analyze", broken)
    with pytest.raises(Finding, match="KeyError"):
        check(data)


def test_the_oracle_flags_a_chunk_dependent_result(monkeypatch):
    import tcpwatch

    data = (Path(__file__).resolve().parents[2] / seeds()[0].name).read_bytes()
    real = tcpwatch.read_segments

    def by_chunk(source, *, chunk_size, **kwargs):
        seg = real(source, chunk_size=chunk_size, **kwargs)
        return seg.iloc[:-1] if chunk_size < 1000 else seg

    monkeypatch.setattr(tcpwatch, "read_segments", by_chunk)
    with pytest.raises(Finding, match="chunk size 64"):
        check(data, 64)
