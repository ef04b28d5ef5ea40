"""GET /events: the dashboard's picture pushed as server-sent events.

The picture is a snapshot, not a log: each change bumps a sequence number, the newest frame
is built once (on a worker thread) and every client gets it; a slow client simply skips the
frames it missed. Frame ids are `<boot>-<seq>`, so a browser that reconnects with the
`Last-Event-ID` of the frame it already shows gets nothing until the next change, and one that
comes back after a restart (another boot) gets the current picture at once.
Lives on the server's event loop: one hub per running server.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Awaitable, Callable

RETRY_MS = 2000  # EventSource reconnects after this long
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies and dead-peer detection honest


class EventHub:
    def __init__(self, build: Callable[[], bytes]):
        self._build = build
        self.boot = secrets.token_hex(4)
        self.seq = 1
        self._built: tuple[int, bytes] | None = None
        self._waiters: set[asyncio.Future] = set()  # one per client waiting for a change
        self._building: asyncio.Lock | None = None
        self.clients = 0

    def changed(self) -> None:
        """On the loop: the picture changed."""
        self.seq += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(True)

    async def _wait_change(self, seq: int, timeout: float) -> bool:
        """True once the picture is newer than `seq`, False after `timeout`."""
        if self.seq != seq:
            return True
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        timer = loop.call_later(timeout, lambda: waiter.done() or waiter.set_result(False))
        self._waiters.add(waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiters.discard(waiter)

    @property
    def last_id(self) -> str:
        return f"{self.boot}-{self.seq}"

    async def _frame(self, in_worker: Callable[..., Awaitable]) -> tuple[int, bytes]:
        if self._building is None:
            self._building = asyncio.Lock()
        async with self._building:
            seq = self.seq
            if self._built is None or self._built[0] != seq:
                data = await in_worker(self._build)
                self._built = (seq, b"id: %s-%d\ndata: %s\n\n" % (self.boot.encode(), seq, data))
            return self._built

    async def serve(self, send: Callable[[bytes], Awaitable[None]], last_event_id: str,
                    in_worker: Callable[..., Awaitable]) -> None:
        """Until the client goes away (send raises) or the server stops (cancelled)."""
        self.clients += 1
        try:
            await send(b"retry: %d\n\n" % RETRY_MS)
            sent = last_event_id.strip()
            while True:
                seq, frame = await self._frame(in_worker)
                if f"{self.boot}-{seq}" != sent:
                    await send(frame)
                    sent = f"{self.boot}-{seq}"
                if not await self._wait_change(seq, KEEPALIVE_S):
                    await send(b": keep-alive\n\n")
        finally:
            self.clients -= 1
