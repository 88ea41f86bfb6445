from __future__ import annotations

import os

import pytest


@pytest.fixture
def one_cpu():
    """Run the traffic (and live, its child) on one CPU.  Loopback delivers each packet
    to the packet sockets on the CPU that sent it; with two CPUs, two segments sent at
    the same moment can reach tcpdump's socket and live's in opposite orders.  On one CPU
    every socket sees one sequence, so the order can be compared whole."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    yield
    os.sched_setaffinity(0, before)
