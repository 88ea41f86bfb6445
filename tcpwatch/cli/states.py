"""``tcpwatch states``: the RFC 9293 transition table tcpwatch applies, as a table or a
Graphviz diagram -- generated from ``engine/transitions.py``, the single source."""

from __future__ import annotations

import click

from ..report.fit import console
from ..vocab import event_name
from .params import command

HELP = """Print the RFC 9293 state machine tcpwatch applies to each endpoint: every
(state, event) -> next state row with its reason and RFC section; --dot for Graphviz.

\b
Examples:
  tcpwatch states --changes
  tcpwatch states --dot | dot -Tsvg > states.svg"""


@command("states", HELP)
@click.option("--dot", is_flag=True, help="print a Graphviz digraph")
@click.option("--changes", "changes_only", is_flag=True, help="only rows that change the state")
def states(dot: bool, changes_only: bool) -> None:
    from ..engine.transitions import TABLE  # numpy: imported by the command that needs it

    rows = sorted(TABLE.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    if changes_only or dot:
        rows = [(k, t) for k, t in rows if t.next is not None and t.next != k[0]]
    if dot:  # one edge per pair of states, labelled with every event that takes it
        edges: dict[tuple[str, str], list[str]] = {}
        for (state, event), t in rows:
            edges.setdefault((state.name, t.next.name), []).append(event_name(event))
        print("digraph tcp {\n  rankdir=LR;\n  node [shape=box];")
        for (a, b), events in edges.items():
            print(f'  {a} -> {b} [label="{", ".join(events)}"];')
        print("}")
        return
    from ..report.fit import Column, fitted_table

    out = console()
    out.print(fitted_table([
        Column("state", [state.name for (state, _e), _t in rows]),
        Column("event", [event_name(event) for (_s, event), _t in rows]),
        Column("next", ["(same)" if t.next is None else t.next.name for _k, t in rows]),
        Column("why", [t.reason for _k, t in rows], rank=1),
        Column("RFC 9293", [f"§{t.rfc}" for _k, t in rows]),
    ], out.width, title="RFC 9293 transitions (per endpoint)"))
