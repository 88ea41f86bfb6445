"""The transition table as data: compiled cells match the source, nothing unreachable."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tcpwatch import _seqwalk
from tcpwatch.engine.transitions import IGNORED, INVALID, NEXT, TABLE, VIOLATIONS, describe
from tcpwatch.vocab import N_CLASSES, EndpointState, SegClass, event_name


def test_c_event_classes_match_the_vocabulary():
    assert _seqwalk.class_layout() == tuple(int(c) for c in SegClass)


def test_every_compiled_cell_comes_from_the_source_or_is_invalid():
    for event in range(2 * N_CLASSES):
        for state in EndpointState:
            t = TABLE.get((state, event))
            want = INVALID if t is None else (IGNORED if t.next is None else int(t.next))
            assert NEXT[event, state] == want, (state, event)


def test_every_row_cites_an_rfc_9293_section_and_says_why():
    for (state, event), t in TABLE.items():
        assert t.reason and t.rfc.startswith("3."), (state, event)


def test_deliberate_violations_are_not_in_the_table():
    assert not set(VIOLATIONS) & set(TABLE)


def test_every_state_is_reachable_from_the_initial_ones():
    start = {EndpointState.CLOSED, EndpointState.LISTEN, EndpointState.ESTABLISHED}
    seen, frontier = set(start), list(start)
    while frontier:
        s = frontier.pop()
        for event in range(2 * N_CLASSES):
            nxt = NEXT[event, s]
            if nxt < IGNORED and EndpointState(nxt) not in seen:
                seen.add(EndpointState(nxt))
                frontier.append(EndpointState(nxt))
    assert seen == set(EndpointState) - {EndpointState.UNKNOWN}


@given(st.sampled_from(list(EndpointState)), st.integers(0, 2 * N_CLASSES - 1))
def test_any_pair_is_a_state_ignored_or_an_explained_violation(state, event):
    nxt = NEXT[event, state]
    if nxt == INVALID:
        assert describe(state, event)
    else:
        assert nxt == IGNORED or nxt in {int(s) for s in EndpointState}


def test_rfc_9293_core_transitions():
    S, C = EndpointState, SegClass

    def step(state, side, cls):
        return NEXT[side * N_CLASSES + cls, state]

    assert step(S.CLOSED, 0, C.SYN) == S.SYN_SENT
    assert step(S.SYN_SENT, 1, C.SYNACK) == S.ESTABLISHED
    assert step(S.ESTABLISHED, 1, C.FIN) == S.CLOSE_WAIT
    assert step(S.FIN_WAIT_1, 1, C.ACK_OF_FIN) == S.FIN_WAIT_2
    assert step(S.FIN_WAIT_1, 1, C.FIN) == S.CLOSING
    assert step(S.FIN_WAIT_1, 1, C.FIN_ACK_OF_FIN) == S.TIME_WAIT
    assert step(S.CLOSING, 1, C.ACK_OF_FIN) == S.TIME_WAIT
    assert step(S.LAST_ACK, 1, C.ACK_OF_FIN) == S.CLOSED
    assert step(S.SYN_SENT, 1, C.RST) == S.CLOSED
    assert step(S.ESTABLISHED, 1, C.RST_BAD) == IGNORED
    assert step(S.FIN_WAIT_2, 0, C.DATA_PAST_FIN) == INVALID
    assert np.all(NEXT[0 * N_CLASSES + C.RST, [S.ESTABLISHED, S.CLOSE_WAIT]] == S.CLOSED)


def test_states_command_prints_the_table_and_a_diagram():
    from ..test_bad_input import run_cli

    res = run_cli("states", "--changes")
    assert res.returncode == 0 and "SYN_SENT" in res.stdout and "§3.5" in res.stdout
    dot = run_cli("states", "--dot").stdout
    assert dot.startswith("digraph tcp {")
    edges = [ln for ln in dot.splitlines() if "->" in ln]
    # one edge per pair of states (no repeats), labelled with every event taking it
    pairs = [ln.split("[")[0].strip() for ln in edges]
    assert len(pairs) == len(set(pairs))
    changing = {(s.name, t.next.name, event_name(e)) for (s, e), t in TABLE.items()
                if t.next is not None and t.next != s}
    drawn = {(a, b.rstrip(), ev) for ln in edges
             for a, b, label in [re.match(r'\s*(\w+) -> (\w+) \[label="(.*)"\];', ln).groups()]
             for ev in label.split(", ")}
    assert drawn == changing
    assert '  FIN_WAIT_1 -> CLOSING [label="RCV_FIN"];' in dot
