"""What ``tcpwatch live`` checks before it captures anything: the interface, and that
the scenarios it is to drive have the server they need (loopback ones only)."""

from __future__ import annotations

import click

from ..lab.scenarios.registry import SCENARIOS

#: where a scenario's client connects: its registry lab (lo6: IPv6 loopback)
LOOPBACK = {"lo": "127.0.0.1", "lo6": "::1"}
REFUSED_PORT = "connection_refused"  # the scenario whose client connects to port + 1
ON_LOOPBACK = [n for n, s in SCENARIOS.items() if s.lab in LOOPBACK]


def interface(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An interface this machine has (or any); else say which there are."""
    import socket

    names = [name for _, name in socket.if_nameindex()]
    if value != "any" and value not in names:
        raise click.BadParameter(f"no such interface {value!r} (there are: "
                                 f"{', '.join([*names, 'any'])})")
    return value


def check_scenarios(serve: str | None, ports: list[int] | None,
                     scenarios: list[str] | None, close_after: int | None) -> None:
    """Scenarios need a server to drive: refused before anything is captured."""
    if close_after is not None and not serve:
        raise click.UsageError("--close-after is for the server of --serve")
    if not scenarios:
        return
    if not serve and not ports:
        raise click.UsageError("--scenario needs a server: --serve MODEL (a bundled one) "
                               "or --port N (yours)")
    for name in scenarios:
        s = SCENARIOS[name]
        if s.lab not in LOOPBACK:
            raise click.UsageError(f"--scenario {name} needs a network of its own ({s.lab} "
                                   f"lab: namespaces, nftables): tcpwatch record {name} makes "
                                   "it; live drives loopback scenarios only")
        if serve and s.lab == "lo6":
            raise click.UsageError(f"--scenario {name} talks to ::1: start the server "
                                   f"yourself (tcpwatch serve {s.model} --host ::1 --port N) "
                                   "and give live --port N")
        if serve and s.close_after and close_after is None:
            raise click.UsageError(f"--scenario {name} needs the server to close first: "
                                   f"add --close-after {s.close_after}")
        if serve and s.second_model:
            raise click.UsageError(f"--scenario {name} needs a second server on port + 1 "
                                   f"(tcpwatch serve {s.second_model} --port N+1): start "
                                   "both yourself and give live --port N --port N+1")
    if not serve and not listening(ports[0]):
        raise click.UsageError(f"--scenario: nothing listens on port {ports[0]} (start your "
                               "server first, or add --serve MODEL)")


def scenario_host(scenario: str) -> str:
    return LOOPBACK[SCENARIOS[scenario].lab]


def listening(port: int) -> bool:
    """Whether a socket of this network namespace listens on TCP ``port``."""
    from ..live.kernel import kernel_states
    from ..vocab import EndpointState

    return any(local[1] == port and state == EndpointState.LISTEN
               for (local, _), state in kernel_states().items())
