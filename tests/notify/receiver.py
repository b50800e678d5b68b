"""A real HTTP receiver on 127.0.0.1 (aiohttp) for the notify tests.

The path says how it answers: ``/ok`` 200, ``/500`` 500, ``/slow`` 200 after ``slow_s``,
``/hang`` never (until the receiver stops). ``down()`` closes the listening socket (connections
are refused) and ``up()`` opens the same port again. Every request that reached a handler is
kept, with its headers and JSON body, before it is answered.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    def __init__(self, slow_s: float = 2.0) -> None:
        self.slow_s = slow_s
        self.port = free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._stop = asyncio.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def up(self) -> None:
        self._call(self._up())

    def down(self) -> None:
        self._call(self._down())

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def requests(self, prefix: str = "/") -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.startswith(prefix)]

    async def _up(self) -> None:
        if self._runner is None:
            app = web.Application()
            app.router.add_post("/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, shutdown_timeout=0.1)
            await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()

    async def _down(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def _shutdown(self) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.received.append(Received(request.path, dict(request.headers), body))
        if request.path.startswith("/500"):
            return web.Response(status=500, text="broken")
        if request.path.startswith("/slow"):
            await asyncio.sleep(self.slow_s)
        if request.path.startswith("/hang"):
            await self._stop.wait()
        return web.Response(status=200, text="ok")


def unique_events(requests: list[Received]) -> Iterator[dict[str, Any]]:
    """The events of the messages, each idempotency key counted once (as a receiver would)."""
    seen: set[str] = set()
    for r in requests:
        key = r.headers["Idempotency-Key"]
        assert r.body["idempotency_key"] == key
        if key in seen:
            continue
        seen.add(key)
        yield from r.body["events"]
