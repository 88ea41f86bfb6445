"""The load generator's clients: length-framed echoes checked byte for byte.

``concurrent`` (asyncio): C clients at once, each M messages of 1-64 KiB written in random
chunks, then read back and compared; slow clients trickle theirs, abrupt ones reset the
connection in the middle of a message.  ``burst``: B short connections opened at once.
``flood`` (blocking socket): a client that sends without ever reading, until the server
stops taking data.  ``probe``: sequential small echoes on one connection, timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import select
import socket
import struct
import time
from dataclasses import dataclass, field

HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 * 1024
LINGER_RST = struct.pack("ii", 1, 0)  # SO_LINGER {on, 0}: close() sends RST


@dataclass
class Tally:
    """What came back: echoes byte-exact, wrong, or missing (error or timeout)."""

    ok: int = 0
    corrupt: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)  # s, of the ok ones (not slow)

    @property
    def total(self) -> int:
        return self.ok + self.corrupt + self.failed


def _pieces(frame: bytes, rng: random.Random, most: int) -> list[bytes]:
    """``frame`` cut at up to ``most - 1`` random points."""
    cuts = sorted(rng.sample(range(1, len(frame)), min(len(frame) - 1, rng.randint(0, most - 1))))
    return [frame[a:b] for a, b in zip([0, *cuts], [*cuts, len(frame)], strict=True)]


async def _one_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    message: bytes, rng: random.Random, slow: bool) -> bool:
    for piece in _pieces(HEADER.pack(len(message)) + message, rng, 16 if slow else 8):
        writer.write(piece)
        await writer.drain()
        if slow:
            await asyncio.sleep(rng.uniform(0.001, 0.004))
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    return size == len(message) and await reader.readexactly(size) == message


async def _client(addr: tuple[str, int], messages: int, pool: bytes, rng: random.Random,
                  slow: bool, tally: Tally, timeout: float) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*addr), timeout)
    except (OSError, TimeoutError):
        tally.failed += messages
        return
    try:
        for i in range(messages):
            size = rng.randint(1, MAX_MESSAGE)
            start = rng.randrange(len(pool) - size)
            message = pool[start:start + size]
            t0 = time.perf_counter()
            try:
                same = await asyncio.wait_for(_one_echo(reader, writer, message, rng, slow),
                                              timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                tally.failed += messages - i
                return
            if same:
                tally.ok += 1
                if not slow:  # a slow client's latency is its own doing
                    tally.latencies.append(time.perf_counter() - t0)
            else:
                tally.corrupt += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _abrupt(addr: tuple[str, int], pool: bytes, rng: random.Random, rounds: int) -> None:
    """Connect, send part of a message (or a whole one), reset the connection unread."""
    for _ in range(rounds):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(*addr)
            size = rng.randint(1, MAX_MESSAGE)
            frame = HEADER.pack(size) + pool[:size]
            writer.write(frame[:rng.randint(1, len(frame))])
            await writer.drain()
            await asyncio.sleep(rng.uniform(0, 0.01))
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            writer.transport.abort()


async def _concurrent(addr: tuple[str, int], clients: int, messages: int, slow: int,
                      abrupt: int, seed: int, timeout: float) -> Tally:
    rng = random.Random(seed)
    pool = rng.randbytes(1 << 20)
    tally = Tally()
    jobs = [_client(addr, messages, pool, random.Random(rng.random()), i < slow, tally, timeout)
            for i in range(clients)]
    jobs += [_abrupt(addr, pool, random.Random(rng.random()), 5) for _ in range(abrupt)]
    await asyncio.gather(*jobs)
    return tally


def concurrent(addr: tuple[str, int], clients: int, messages: int, *, slow: int = 0,
               abrupt: int = 0, seed: int = 1, timeout: float = 60) -> Tally:
    """``clients`` clients (the first ``slow`` of them slow) of ``messages`` echoes each,
    plus ``abrupt`` clients resetting connections mid-message (not counted)."""
    return asyncio.run(_concurrent(addr, clients, messages, slow, abrupt, seed, timeout))


async def _short(addr: tuple[str, int], i: int, tally: Tally, timeout: float) -> None:
    message = b"burst %d" % i
    t0 = time.perf_counter()

    async def exchange() -> bool:
        reader, writer = await asyncio.open_connection(*addr)
        try:
            writer.write(HEADER.pack(len(message)) + message)
            await writer.drain()
            (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
            return size == len(message) and await reader.readexactly(size) == message
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    try:
        same = await asyncio.wait_for(exchange(), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        tally.failed += 1
        return
    if same:
        tally.ok += 1
        tally.latencies.append(time.perf_counter() - t0)
    else:
        tally.corrupt += 1


async def _burst(addr: tuple[str, int], n: int, timeout: float) -> Tally:
    tally = Tally()
    await asyncio.gather(*(_short(addr, i, tally, timeout) for i in range(n)))
    return tally


def burst(addr: tuple[str, int], n: int, timeout: float = 60) -> Tally:
    """``n`` connections opened at once, one short echo each, ``timeout`` s to answer."""
    return asyncio.run(_burst(addr, n, timeout))


def flood_frame(size: int = MAX_MESSAGE) -> bytes:
    return HEADER.pack(size) + bytes(range(256)) * (size // 256)


def flood(sock: socket.socket, cap: int, idle: float = 1.0, frame: bytes | None = None) -> int:
    """Send ``frame`` over and over on ``sock`` without reading, until the server has taken
    nothing for ``idle`` s (it pushes back) or ``cap`` bytes are sent; the bytes sent (the
    last frame may be cut: ``sent // len(frame)`` are whole and get an echo)."""
    frame = frame or flood_frame()
    block = frame * max(1, (1 << 20) // len(frame))
    sock.setblocking(False)
    sent = 0
    while sent < cap:
        _, writable, _ = select.select([], [sock], [], idle)
        if not writable:
            break
        with contextlib.suppress(BlockingIOError):
            sent += sock.send(block[sent % len(block):])
    return sent


def probe(addr: tuple[str, int], n: int, gap: float = 0.0, timeout: float = 30
          ) -> list[float]:
    """``n`` echoes of 100 bytes on one connection, ``gap`` s apart; each one's latency
    (s)."""
    message = b"p" * 100
    frame = HEADER.pack(len(message)) + message
    out = []
    with socket.create_connection(addr, timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            t0 = time.perf_counter()
            s.sendall(frame)
            got = b""
            while len(got) < len(frame):
                chunk = s.recv(len(frame) - len(got))
                if not chunk:
                    raise ConnectionError("the server closed the probe connection")
                got += chunk
            out.append(time.perf_counter() - t0)
            if got != frame:
                raise ConnectionError("the probe's echo differs")
            time.sleep(gap)
    return out
