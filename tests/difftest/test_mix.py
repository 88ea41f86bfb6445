"""mix.py: a seed is a plan, always the same one, and a handful of seeds covers every
behaviour the fuzzer can play."""

from __future__ import annotations

import pytest

from tcpwatch.lab.difftest.mix import (
    BEHAVIOURS,
    CLOSED_PORT,
    DROP_PORT,
    EPHEMERAL_PORTS,
    FIRST_CLIENT_PORT,
    PROFILES,
    SERVER_PORT,
    Plan,
    plan,
)

SEEDS = range(20)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_seed_is_always_the_same_plan(profile):
    for seed in SEEDS:
        a, b = plan(seed, profile), plan(seed, profile)
        assert a == b and a.to_json() == b.to_json()
        assert Plan.from_json(a.to_json()) == a  # what the peers read is the plan


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_seeds_give_different_plans(profile):
    assert len({plan(seed, profile).to_json() for seed in SEEDS}) == len(SEEDS)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_six_seeds_cover_every_behaviour(profile):
    seen = set().union(*(plan(seed, profile).behaviours() for seed in range(6)))
    assert seen == set(BEHAVIOURS)


def test_behaviours_come_from_the_plan():
    """The names are read off the connections, not asserted by the generator: a plan
    without connections has only its families and its plan-wide settings."""
    p = plan(1, "short")
    bare = Plan(p.seed, p.profile, (4,), 0, 3, 0, True)
    assert bare.behaviours() == {"ipv4", "loss_to_client", "offloads"}
    assert {"refused", "syn_dropped", "port_reuse"} <= p.behaviours()


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_ports(profile):
    """Every client port is its own, except a reused one, which follows a close that
    leaves the client no TIME_WAIT; none collides with the server's or the ephemeral
    range the client namespace gets."""
    for seed in SEEDS:
        p = plan(seed, profile)
        by_id = {c.id: c for c in p.conns}
        bound = [c for c in p.conns if c.kind == "exchange"]
        firsts = [c.cport for c in bound if c.reuses < 0]
        assert len(firsts) == len(set(firsts))
        for c in bound:
            assert FIRST_CLIENT_PORT <= c.cport <= 65535
            assert not EPHEMERAL_PORTS[0] <= c.cport <= EPHEMERAL_PORTS[1]
            if c.reuses >= 0:
                first = by_id[c.reuses]
                assert c.cport == first.cport and c.family == first.family
                assert first.closer in ("server", "client_rst", "server_rst", "abandon")
        assert len({SERVER_PORT, CLOSED_PORT, DROP_PORT} | set(firsts)) == len(firsts) + 3


def test_short_plans_stay_short():
    """The CI slice plays short plans: a few seconds of traffic each, a few MB at most."""
    for seed in range(200):
        p = plan(seed, "short")
        assert p.duration() < 20
        assert sum(sum(x) for c in p.conns for x in c.exchanges) < 4_000_000
