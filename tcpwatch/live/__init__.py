"""``tcpwatch live``'s engine: the incremental session (session.py) over growable
column stores (store.py), and the per-connection board the view shows (board.py)."""

from .session import LiveSession

__all__ = ["LiveSession"]
