"""``tcpwatch serve MODEL``: model name -> serving function; the framers by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from . import forking, polling, selecting, threaded
from .framing import DEFAULT_MAX, FRAMERS
from .handlers import STOP, MakeFramer
from .sockio import tcp_listen

MODELS: dict[str, Callable] = {m.NAME: m.serve for m in (forking, threaded, polling, selecting)}


def make_framer_factory(framing: str, max_size: int = DEFAULT_MAX, **kw) -> MakeFramer:
    return partial(FRAMERS[framing], max_size, **kw)


def run(model: str, host: str, port: int, framing: str = "length",
        max_size: int = DEFAULT_MAX, on_listening: Callable[[str, int], None] | None = None,
        close_after: int | None = None, backlog: int | None = None) -> None:
    """Listen (``backlog``: the system's maximum by default), report the bound address,
    serve until SIGINT/SIGTERM."""
    STOP.install()
    listener = tcp_listen(host, port, backlog)
    bound = listener.getsockname()
    if on_listening is not None:
        on_listening(bound[0], bound[1])
    MODELS[model](listener, make_framer_factory(framing, max_size), close_after)
