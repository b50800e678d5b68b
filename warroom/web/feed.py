"""What the server follows: the current incident and a change counter, whoever supplies them.

A ``Feed`` holds the latest ``Snapshot``; every viewer's event stream waits on it. Sources push
into it (the interface is ``warroom.web.run.Source``): ``FileFollower`` here, which follows a
session file through ``sessions.follow``. Viewers never read the file themselves, so 50 viewers
cost one stat every poll.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warroom.sessions.follow import Follower
from warroom.sessions.model import Incident
from warroom.sessions.store import SessionError
from warroom.sessions.times import utcnow

# Cheap enough to do often (one stat), quick enough that a note shows well inside a second.
POLL_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int  # grows by one per change; a restarted server starts again from 1
    incident: Incident
    problem: str | None = None  # why the newest state could not be read (the last good one shows)
    problem_since: datetime | None = None


class Feed:
    """The latest snapshot plus a way to wait for the next one. One per server; asyncio only."""

    def __init__(self, incident: Incident) -> None:
        self._snapshot = Snapshot(1, incident)
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, incident: Incident) -> None:
        self._swap(Snapshot(self._snapshot.version + 1, incident))

    def report(self, problem: str) -> None:
        """Keep showing the last good incident, with ``problem`` beside it."""
        old = self._snapshot
        if old.problem == problem:
            return
        since = old.problem_since or utcnow()
        self._swap(Snapshot(old.version + 1, old.incident, problem, since))

    def close(self) -> None:
        """Wake every waiter for good (the server is stopping)."""
        self._closed = True
        self._changed.set()

    async def wait(self, after: int, timeout: float) -> Snapshot | None:
        """The snapshot once its version is past ``after``; None on timeout or close."""
        while self._snapshot.version <= after and not self._closed:
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                return None
        return None if self._closed else self._snapshot

    def _swap(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        # A fresh Event per change: waiters woken by the old one re-check the version.
        event, self._changed = self._changed, asyncio.Event()
        event.set()


class FileFollower:
    """Follows one session file for the page, read-only (``sessions.follow`` does the reading)."""

    def __init__(self, path: Path, poll: float = POLL_SECONDS) -> None:
        self.path = path
        self.poll = poll
        self._follower = Follower(path)

    def describe(self) -> str:
        return f"session {self.path}"

    def first(self) -> Incident:
        """The incident as it is now; SessionError when the file cannot be read at all."""
        self._follower.changed()
        return self._follower.read()

    def read(self) -> Incident:
        return self._follower.read()

    async def run(self, feed: Feed) -> None:
        while True:
            await asyncio.sleep(self.poll)
            try:
                incident = await asyncio.to_thread(self._follower.read_if_changed)
            except SessionError as exc:
                feed.report(str(exc))
                continue
            if incident is not None:
                feed.publish(incident)
