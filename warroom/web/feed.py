"""What the server follows: the current incident and a change counter, whoever supplies them.

A ``Feed`` holds the latest ``Snapshot``; every viewer's event stream waits on it. Sources push
into it (the interface is ``warroom.web.run.Source``): ``FileFollower`` here and, once sharing
lands, a follower of the shared events. Viewers never read the file themselves, so 50 viewers
cost one stat every poll.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warroom.sessions import fileio
from warroom.sessions.model import Incident
from warroom.sessions.store import SessionError, load
from warroom.sessions.times import utcnow
from warroom.sessions.toml_codec import BLOCKS, FieldError, decode_blocks

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


def _stat_key(path: Path) -> tuple[int, int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileFollower:
    """Follows one session file, read-only: appended blocks are read on their own, anything
    else (a rewrite, a torn tail, a shrink) re-reads the whole file with ``store.load``.

    Nothing here writes: no lock file is created (the shared lock is taken only when a writer
    already made one), nothing is repaired, so serving a session another process is writing
    leaves that file exactly as its writer made it. Reading just the new blocks keeps a note's
    way to the page short in hour 8, when a whole load costs hundreds of milliseconds.
    """

    def __init__(self, path: Path, poll: float = POLL_SECONDS) -> None:
        self.path = path
        self.poll = poll
        self._seen = _stat_key(path)
        self._incident: Incident | None = None
        self._ident: tuple[int, int] | None = None
        self._offset: int | None = None  # bytes of whole blocks behind _incident; None: reload

    def describe(self) -> str:
        return f"session {self.path}"

    def first(self) -> Incident:
        """The incident as it is now; SessionError when the file cannot be read at all."""
        self._seen = _stat_key(self.path)
        return self.read()

    def read(self) -> Incident:
        try:
            with fileio.locked(self.path, exclusive=False, create=False):
                appended = self._read_appended()
                if appended is not None:
                    return appended
                return self._read_whole()
        except fileio.LockTimeout as exc:
            raise SessionError(f"{self.path}: cannot read: {exc.strerror}") from None
        except FileNotFoundError:
            raise SessionError(f"no such session file: {self.path}") from None

    def _read_whole(self) -> Incident:
        # Under the shared lock no writer appends, so this stat matches what load reads.
        st = os.stat(self.path)
        loaded = load(self.path)
        self._incident = loaded.incident
        self._ident = (st.st_dev, st.st_ino)
        self._offset = None if loaded.torn is not None else st.st_size
        return loaded.incident

    def _read_appended(self) -> Incident | None:
        """The incident plus the blocks appended since the last read; None: read it whole."""
        if self._incident is None or self._offset is None:
            return None
        with open(self.path, "rb") as handle:
            st = os.fstat(handle.fileno())
            if (st.st_dev, st.st_ino) != self._ident or st.st_size < self._offset:
                return None
            if st.st_size == self._offset:
                return self._incident
            handle.seek(self._offset)
            added = handle.read(st.st_size - self._offset)
        if not added.endswith(b"\n") or not added.lstrip(b"\n").startswith(b"[["):
            return None
        try:
            doc = tomllib.loads(added.decode("utf-8"))
            if not set(doc) <= set(BLOCKS):
                return None
            blocks = decode_blocks(doc)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError, ValueError):
            return None  # torn or odd: the whole read sorts it out and names the problem
        incident = self._incident.copy()
        incident.timeline.extend(blocks["timeline"])
        incident.action_items.extend(blocks["action_items"])
        incident.samples.extend(blocks["samples"])
        self._incident = incident
        self._offset = st.st_size
        return incident

    async def run(self, feed: Feed) -> None:
        while True:
            await asyncio.sleep(self.poll)
            key = _stat_key(self.path)
            if key == self._seen:
                continue
            if key is None:
                feed.report(f"{self.path}: the session file has gone away")
                self._seen = key
                continue
            # Stat first, then read: a change during the read shows as another change next poll.
            self._seen = key
            try:
                incident = await asyncio.to_thread(self.read)
            except SessionError as exc:
                feed.report(str(exc))
                continue
            feed.publish(incident)
