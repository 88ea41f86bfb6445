"""What every kind shares: the connection's time origin, its title, the sides a direction
names, and Plotly's scatter trace as a plain dict (typed arrays, so a million points cost
their bytes, not a million JSON numbers)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Plotly's typed-array dtype codes
_DTYPES = {np.dtype("float64"): "f8", np.dtype("float32"): "f4", np.dtype("int32"): "i4",
           np.dtype("uint32"): "u4", np.dtype("int16"): "i2", np.dtype("uint8"): "u1",
           np.dtype("int8"): "i1", np.dtype("uint16"): "u2"}


@dataclass(frozen=True)
class Conn:
    """Who the connection is and when it started (every kind's x axis is seconds since)."""

    conn: int
    t0: float
    client: str
    server: str

    @property
    def title(self) -> str:
        return f"conn {self.conn}: {self.client} → {self.server}"


def conn_of(segs: pd.DataFrame) -> Conn:
    """The :class:`Conn` of one connection's rows."""
    if segs.empty:
        raise ValueError("no segments to draw")
    first = segs.iloc[0]
    cl = (segs["role"] == "client").to_numpy()  # a categorical compares its codes
    c = segs.iloc[int(cl.argmax())] if cl.any() else first
    client = _endpoint(str(c["src"]), int(c["sport"]))
    server = _endpoint(str(c["dst"]), int(c["dport"]))
    return Conn(int(first["conn"]), float(first["ts"]), client, server)


def _endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def sides(direction: str) -> tuple[str, str]:
    """(the data sender's role, the receiver's role) of a direction."""
    if direction == "server":
        return "server", "client"
    return "client", "server"


def typed(values: np.ndarray) -> dict | list:
    """A numeric column as Plotly's ``{"dtype", "bdata"}`` typed array (base64)."""
    arr = np.ascontiguousarray(values)
    if arr.dtype == np.float64 or arr.dtype in _DTYPES:
        return {"dtype": _DTYPES.get(arr.dtype, "f8"),
                "bdata": base64.b64encode(arr.astype(arr.dtype.newbyteorder("<"))
                                          .tobytes()).decode()}
    if arr.dtype.kind in "iu":
        return typed(arr.astype(np.float64))
    return arr.tolist()


def scatter(x: np.ndarray, y: np.ndarray, *, name: str, mode: str = "markers",
            gl: bool | None = None, **extra) -> dict:
    """A Plotly scatter trace; WebGL (``scattergl``) above a few thousand points."""
    big = len(x) > 5000 if gl is None else gl
    trace = {"type": "scattergl" if big else "scatter", "mode": mode, "name": name,
             "x": typed(np.asarray(x)), "y": typed(np.asarray(y))}
    trace.update(extra)
    return trace


def layout(title: str, xtitle: str, ytitle: str, **extra) -> dict:
    """The layout every graph shares: titled axes, hover nearest, zoom by dragging."""
    out = {"title": {"text": title, "font": {"size": 14}},
           "xaxis": {"title": {"text": xtitle}, "zeroline": False},
           "yaxis": {"title": {"text": ytitle}, "zeroline": False},
           "hovermode": "closest", "dragmode": "zoom", "margin": {"l": 70, "r": 20, "t": 40,
                                                                  "b": 50},
           "legend": {"orientation": "h", "y": -0.2}}
    out.update(extra)
    return out
