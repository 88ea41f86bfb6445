"""The kernel's own TCP socket states (/proc/net/tcp and tcp6), for ``live --kernel``."""

from __future__ import annotations

import ipaddress

from ..vocab import KERNEL_STATES, EndpointState

Endpoint = tuple[str, int]


def _addr(hexaddr: str) -> Endpoint:
    host, port = hexaddr.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = ipaddress.IPv4Address(raw[::-1])
    else:  # four little-endian 32-bit words
        ip = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    return str(ip), int(port, 16)


def kernel_states() -> dict[tuple[Endpoint, Endpoint], EndpointState]:
    """(local, remote) -> state of every TCP socket of this network namespace."""
    out = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    out[(_addr(fields[1]), _addr(fields[2]))] = KERNEL_STATES.get(
                        int(fields[3], 16), EndpointState.UNKNOWN)
        except OSError:
            continue
    return out


def state_of(table, local: Endpoint, remote: Endpoint) -> EndpointState:
    """A socket absent from the kernel's tables is CLOSED."""
    return table.get((local, remote), EndpointState.CLOSED)
