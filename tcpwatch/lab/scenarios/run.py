"""Start a server (optionally in a namespace), run clients, stop it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from ...errors import TcpwatchError
from .netns import python_in

TRAFFIC = "tcpwatch.lab.scenarios.traffic"


@contextmanager
def _child(argv: list[str], ready: str, what: str) -> Iterator[subprocess.Popen]:
    """Run ``argv`` until the block ends; wait for a stdout line containing ``ready``."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        if ready not in proc.stdout.readline():
            proc.wait(timeout=5)
            raise TcpwatchError(f"{what} did not start: {proc.stderr.read().strip()[-300:]}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()


@contextmanager
def server(host: str, port: int, *, netns: str | None = None, sink: bool = False
           ) -> Iterator[subprocess.Popen]:
    """The plain traffic server of ``traffic.py`` (echo, or discard with ``sink``)."""
    args = ["-m", TRAFFIC, "serve", host, str(port), *(["--sink"] if sink else [])]
    with _child(python_in(netns, *args), "ready", "traffic server") as proc:
        yield proc


def client(*args: str, netns: str | None = None, timeout: float = 120) -> None:
    res = subprocess.run(python_in(netns, "-m", TRAFFIC, *args), capture_output=True, text=True,
                         timeout=timeout)
    if res.returncode != 0:
        raise TcpwatchError(f"traffic client failed: {res.stderr.strip()[-500:]}")


@contextmanager
def bundled_server(model: str, host: str, port: int, *, netns: str | None = None,
                   close_after: int | None = None) -> Iterator[subprocess.Popen]:
    """``tcpwatch serve MODEL`` as a child process (in ``netns``), until the block ends."""
    args = ["-m", "tcpwatch", "serve", model, "--host", host, "--port", str(port)]
    if close_after is not None:
        args += ["--close-after", str(close_after)]
    with _child(python_in(netns, *args), "listening on", f"tcpwatch serve {model}") as proc:
        yield proc
