"""50 event-stream viewers for a minute: each gets every update, memory stays flat, pages load.

Runs the real server in a child process; the viewers are aiohttp clients in this process, and a
writer appends notes (and a rollup every 10 s) the way the dashboard and `warroom note` do.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from support.web import ServerProcess, Viewer, follow_events

from warroom.sessions.model import SampleRollup, Source, TimelineEntry
from warroom.sessions.store import Store

pytest.importorskip("aiohttp")
VIEWERS = 50
SECONDS = float(os.environ.get("WARROOM_WEB_SOAK_SECONDS", "60"))
NOTE_EVERY = 2.0
# The server's resident memory may move with allocator noise, never with time or updates.
RSS_GROWTH_LIMIT = 40 * 1024 * 1024


def test_fifty_viewers_for_a_minute(server: ServerProcess, session_file: Path) -> None:
    assert server.proc is not None
    proc = psutil.Process(server.proc.pid)
    store = Store.open(session_file)
    written: list[str] = []
    pages: list[int] = []
    rss: list[int] = []

    async def write_notes(stop: asyncio.Event) -> None:
        deadline = time.monotonic() + SECONDS
        n = 0
        while time.monotonic() < deadline:
            entry = TimelineEntry(at=datetime.now(UTC), text=f"soak note {n}",
                                  source=Source.CLI, author="soak")
            await asyncio.to_thread(store.append_entry, entry)
            written.append(entry.id)
            if n % 5 == 4:
                rollup = SampleRollup(at=datetime.now(UTC), samples=10, conn_max=50 + n % 40,
                                      max_connections=100, query_p95_ms=10.0 + n, refused=n % 3)
                await asyncio.to_thread(store.append_samples, [rollup])
            n += 1
            await asyncio.sleep(NOTE_EVERY)

    async def probe(stop: asyncio.Event) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as client:
            while not stop.is_set():
                async with client.get(server.url) as response:
                    await response.read()
                    pages.append(response.status)
                rss.append(proc.memory_info().rss)
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    pass

    async def main() -> list[Viewer]:
        stop = asyncio.Event()
        viewers = [Viewer(set(), {}) for _ in range(VIEWERS)]
        clients = [asyncio.create_task(follow_events(server.url, v, stop)) for v in viewers]
        prober = asyncio.create_task(probe(stop))
        await asyncio.sleep(2.0)  # all connected and holding the first state
        await write_notes(stop)
        # Let the last note reach everyone, then stop.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
            set(written) <= v.seen for v in viewers
        ):
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*clients, prober)
        return viewers

    viewers = asyncio.run(main())
    assert all(v.connected and v.error is None for v in viewers), [v.error for v in viewers]
    missing = [len(set(written) - v.seen) for v in viewers]
    assert len(written) >= SECONDS / NOTE_EVERY * 0.8
    assert missing == [0] * VIEWERS
    assert pages and set(pages) == {200}
    assert len(pages) >= SECONDS * 0.5  # answered throughout, not just at the start
    settled = rss[min(5, len(rss) - 1)]
    assert max(rss) - settled < RSS_GROWTH_LIMIT, (settled, max(rss))
    assert server.proc.poll() is None
