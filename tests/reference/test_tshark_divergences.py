"""The generated cases in ``cases/`` (sequences ``generate.captures`` found where the
compiled walks, and so the references that equal them, differed from ``tshark -2``):
on every one, the references equal the pipeline and every frame and column agrees
with tshark.  Each case stays as a regression case once its rule is fixed; the rule
each one pins is in ``cases/README.md``.

``DIVERGENCES`` names the (capture, frame, column) still differing, each a strict xfail
that passes once the compiled rule is fixed (and the reference with it), and then must
be removed; every other frame and column of every case must agree.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from tcpwatch.engine.pipeline import analyze
from tcpwatch.lab.difftest.compare import tshark_disagreements

from ..conftest import needs_tshark
from . import test_conversations_reference as conversations
from . import test_flags_reference as flags
from . import test_states_reference as states
from .compare import first_difference

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name for p in CASES.glob("*.pcap"))
DIVERGENCES: list[tuple[str, int, str]] = [  # (capture, frame, column)
]


@cache
def analysed(name: str) -> tuple[pd.DataFrame, Path]:
    path = CASES / name
    if not path.exists():
        raise FileNotFoundError(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(path), path


@cache
def against_tshark(name: str) -> pd.DataFrame:
    """Every (frame, column) where the pipeline differs from tshark -2 on the case."""
    return tshark_disagreements(*analysed(name))


def test_the_cases_are_there() -> None:
    """Every case the README lists is in ``cases/`` and every pcap there is listed."""
    listed = {line.split("`")[1] for line in (CASES / "README.md").read_text().splitlines()
              if line.startswith("| `")}
    assert NAMES, f"no cases in {CASES}"
    assert listed == set(NAMES)
    assert {n for n, _, _ in DIVERGENCES} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_references_equal_the_pipeline_on_the_cases(name: str) -> None:
    seg, _ = analysed(name)
    for stage in (conversations, states, flags):
        assert (diff := first_difference(seg, stage.reference_columns(seg))) is None, diff


@needs_tshark
@pytest.mark.parametrize("name", NAMES)
def test_every_frame_and_column_agrees_with_tshark(name: str) -> None:
    """Every (frame, column) of the case agrees with tshark, but for the named ones."""
    found = against_tshark(name)
    named = {(f, c) for n, f, c in DIVERGENCES if n == name}
    rest = [(f, c) for f, c in zip(found["frame"], found["column"], strict=True)
            if (f, c) not in named]
    assert not rest, found.to_string()


if DIVERGENCES:
    @needs_tshark
    @pytest.mark.parametrize("name, frame, column", [
        pytest.param(*case, marks=pytest.mark.xfail(
            strict=True, reason=f"{case[0]} frame {case[1]}: {case[2]} differs from tshark"))
        for case in DIVERGENCES])
    def test_pipeline_equals_tshark(name: str, frame: int, column: str) -> None:
        found = against_tshark(name)
        here = found[(found["frame"] == frame) & (found["column"] == column)]
        assert here.empty, here.to_string()

