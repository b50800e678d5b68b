"""The journal beside a shared session: every event this host's record reflects, durably.

``NAME.share.jsonl`` (0600) holds one JSON line per event: our own (``local``, to publish), ones
applied from others (``remote``, with their server sequence) and conflict entries derived here
(``derived``, never published). Lines are appended and fsynced by the Store's write observer,
under the session's lock, right after the session file itself: so an acknowledged write has its
events on disk before anyone is told. ``NAME.share.pub`` is how far the journal has been
published (publishing is idempotent by event id on the server, so a marker left behind by a
crash only costs a harmless repeat); ``NAME.share.seq`` the last server sequence applied.

If a writer dies between the session's fsync and the journal's, ``reconcile`` (run on every
start) finds what the record holds that the journal does not and journals it then.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warroom.sessions import fileio
from warroom.sessions.model import Incident, TimelineEntry
from warroom.sessions.share import events as ev
from warroom.sessions.share.events import BadEvent, Event
from warroom.sessions.share.merge import Merger, apply_derived
from warroom.sessions.store import Store, Written
from warroom.sessions.times import utcnow

LOCAL, REMOTE, DERIVED = "local", "remote", "derived"
_ADDS = frozenset({ev.ENTRY_ADDED, ev.ACTION_ADDED, ev.ENTRY_EDITED, ev.ACTION_EDITED})

# Test hook: stop a writer at a precise point (SIGKILL tests), never a sleep race.
HOLD_ENV = "WARROOM_SHARE_TEST_HOLD"  # "before-outbox" or "after-outbox"
HOLD_FLAG_ENV = "WARROOM_SHARE_TEST_FLAG"  # a file created when the writer is held


def side_path(session: Path, suffix: str) -> Path:
    return session.with_name(f"{session.stem}.share.{suffix}")


log = logging.getLogger("warroom.share")


def warn(message: str) -> None:
    # Through logging: the CLI prints these as `warroom: warning: ...`; the dashboard, which
    # owns the terminal, routes them to its own log.
    log.warning("%s", message)


def _hold(point: str) -> None:
    if os.environ.get(HOLD_ENV) != point:
        return
    flag = os.environ.get(HOLD_FLAG_ENV)
    if flag:
        Path(flag).write_text(str(os.getpid()))
    threading.Event().wait()  # until the test kills us


@dataclass(frozen=True, slots=True)
class Line:
    origin: str
    seq: int | None
    skip: bool
    event: dict[str, Any]  # the event exactly as published (Event.to_json)
    end: int = 0  # offset just past this line in the journal

    def dump(self) -> bytes:
        row = {"o": self.origin, "seq": self.seq, "skip": self.skip, "e": self.event}
        return (json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


class Journal:
    """The journal and its markers beside one session, read without opening the session.

    Publishing needs no more than this (``publish_pending`` serialises publishers on its own
    lock, and journal lines are whole once fsynced), so a command that only lists sessions can
    publish what they have pending without taking, or waiting for, the session's lock.
    """

    def __init__(self, session: Path, incident_id: str) -> None:
        self.journal = side_path(session, "jsonl")
        self.pub_path = side_path(session, "pub")
        self.seq_path = side_path(session, "seq")
        self.lock_path = side_path(session, "lock")
        self._incident_id = incident_id

    @property
    def incident_id(self) -> str:
        return self._incident_id

    def read_from(self, offset: int) -> list[Line]:
        try:
            with open(self.journal, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        out: list[Line] = []
        pos = offset
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break  # a torn last line: the next append cuts it off
            pos += len(raw)
            try:
                row = json.loads(raw)
                out.append(Line(row["o"], row.get("seq"), bool(row.get("skip")), row["e"], pos))
            except (ValueError, KeyError, TypeError):
                warn(f"{self.journal}: skipping an unreadable line ending at byte {pos}")
        return out

    def published_to(self) -> int:
        return _read_int(self.pub_path)

    def set_published_to(self, offset: int) -> None:
        _write_int(self.pub_path, offset)

    def applied_seq(self) -> int:
        return _read_int(self.seq_path)

    def set_applied_seq(self, seq: int) -> None:
        if seq > self.applied_seq():
            _write_int(self.seq_path, seq)

    def pending(self) -> list[Line]:
        """Our own events not yet published, in journal order."""
        return [line for line in self.read_from(self.published_to()) if line.origin == LOCAL]


class Outbox(Journal):
    """Keeps the journal in step with one Store; knows which events the record reflects."""

    def __init__(
        self, store: Store, host: str, author: str, on_local: Callable[[], None] | None
    ) -> None:
        super().__init__(store.path, "")
        self.store = store
        self.host = host
        self.author = author
        self.merger = Merger()
        self.known: set[str] = set()  # event ids in the journal
        self.items: set[str] = set()  # entry and action item ids the journal has added
        self._read_to = 0
        self._local = threading.local()
        self._mutex = threading.RLock()
        self.on_local = on_local  # told after our own events are journaled (wake a publisher)

    @classmethod
    def attach(
        cls,
        store: Store,
        host: str,
        author: str,
        on_local: Callable[[], None] | None = None,
    ) -> Outbox:
        """Read the journal, journal what a crash left out, then follow every write of ``store``."""
        outbox = cls(store, host, author, on_local)
        store.observe(outbox._on_write)
        outbox.reconcile()
        return outbox

    @property
    def incident_id(self) -> str:
        return self.store.incident.id

    # -- the journal -------------------------------------------------------------------------

    def read_new(self) -> list[Line]:
        """Lines appended since we last looked (by any process), remembered as known."""
        with self._mutex:
            lines = self.read_from(self._read_to)
            for line in lines:
                self._learn(line)
                self._read_to = line.end
            return lines

    def _learn(self, line: Line) -> None:
        # Journal lines were validated before they were written (or made here), so only what
        # the merge rules need is decoded: most lines are entries, which need just their id.
        data = line.event.get("data")
        ident = line.event.get("id")
        if isinstance(ident, str):
            self.known.add(ident)
        if line.skip or not isinstance(data, dict):
            return
        kind = line.event.get("kind")
        if line.origin == DERIVED:
            shown = kind != ev.ENTRY_DELETED
            if shown:
                self.items.add(str(data.get("id")))
            self.merger.note_derived(str(data.get("field")), str(data.get("id")), shown)
            return
        if kind in _ADDS:
            self.items.add(str(data.get("id")))
            if kind not in (ev.ENTRY_EDITED, ev.ACTION_EDITED):
                return
        try:
            event = ev.parse_event(line.event)
        except BadEvent:
            return
        self.merger.note(event)

    def _append(self, lines: list[Line]) -> None:
        """Append and fsync; the caller holds the session lock, so lines never interleave."""
        if not lines:
            return
        fd = os.open(self.journal, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    self._cut_torn(fd, size)
            fileio.write_all(fd, b"".join(line.dump() for line in lines))
            os.fsync(fd)
        finally:
            os.close(fd)
        self.read_new()

    def _cut_torn(self, fd: int, size: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        data = fileio.read_all(fd)
        keep = data.rfind(b"\n") + 1
        fileio.save_beside(self.journal, "torn", data[keep:])
        os.ftruncate(fd, keep)

    # -- the Store's observer ----------------------------------------------------------------

    def _on_write(self, written: Written) -> None:
        remote: list[Line] | None = getattr(self._local, "remote", None)
        if remote is not None:
            lines = remote
            merged: Merger | None = getattr(self._local, "merger", None)
            if merged is not None:
                # Under the session lock and only now the write succeeded: local writes of
                # other threads note their events on this very merger, none is lost.
                self.merger = merged
        else:
            incident = written.store.incident
            if written.before is not None:
                made = ev.diff(written.before, incident, self.host, self.author)
            else:
                made = ev.appended(incident.id, written.appended, self.host, self.author)
            lines = [Line(LOCAL, None, False, e.to_json()) for e in made]
        if not lines:
            return
        _hold("before-outbox")
        try:
            self._append(lines)
        except OSError as exc:
            # The write itself is durable and must stay acknowledged; the next start's
            # reconcile journals what is missing here.
            warn(f"{self.journal}: cannot journal this change yet ({exc.strerror or exc})")
            return
        _hold("after-outbox")
        if remote is None and self.on_local is not None:
            self.on_local()

    @contextlib.contextmanager
    def applying(self, lines: list[Line]) -> Iterator[None]:
        """Writes of the store in this thread journal ``lines`` instead of new local events."""
        self._local.remote = lines
        self._local.merger = None
        try:
            yield
        finally:
            self._local.remote = None
            self._local.merger = None

    def journal_local(self, events: list[Event]) -> None:
        """Journal events made outside a Store write (the snapshot that starts sharing)."""
        with self.store.hold():
            self._append([Line(LOCAL, None, False, e.to_json()) for e in events])
        if self.on_local is not None:
            self.on_local()

    # -- after a crash -----------------------------------------------------------------------

    def reconcile(self) -> int:
        """Journal what the record holds that the journal lacks; returns how many events."""
        if not self.store.incident.share:
            return 0
        with self.store.hold() as incident:
            self.read_new()
            if not self.known:
                return 0  # sharing has not started for this file (start_sharing does it)
            made = self._missing(incident)
            self._append([Line(LOCAL, None, False, e.to_json()) for e in made])
        if made and self.on_local is not None:
            self.on_local()
        return len(made)

    def _missing(self, incident: Incident) -> list[Event]:
        made: list[Event] = []
        for name in ev.FIELDS:
            stamp = self.merger.winner(name)
            current = ev.get_field(incident, name)
            if stamp is not None and stamp.value != current:
                data = {
                    "name": name,
                    "value": ev.encode_value(name, current),
                    "old": ev.encode_value(name, stamp.value),
                }
                made.append(ev.make(incident.id, ev.FIELD_SET, data, self.host, self.author))
        for entry in incident.timeline:
            if entry.id not in self.items:
                made += ev.appended(incident.id, (entry,), self.host, self.author)
        for item in incident.action_items:
            if item.id not in self.items:
                made += ev.appended(incident.id, (item,), self.host, self.author)
        return made

    # -- others' events ----------------------------------------------------------------------

    def apply_remote(self, rows: list[tuple[int, Any]]) -> list[TimelineEntry]:
        """Apply rows ``(seq, event json)`` from the ops database; returns entries that arrived.

        Idempotent: events the journal already has are skipped, and so are bad ones (with a
        warning). Their sequence is remembered only once they are in the record and journal.
        """
        if not rows:
            return []
        self.read_new()
        fresh: list[tuple[int, Event]] = []
        for seq, raw in rows:
            ident = raw.get("id") if isinstance(raw, dict) else None
            if ident in self.known:
                continue
            try:
                fresh.append((seq, ev.parse_event(raw, self.incident_id)))
            except BadEvent as exc:
                warn(f"skipped an event (seq {seq}) for {self.incident_id}: {exc}")
        top = max(seq for seq, _ in rows)
        if not fresh:
            self.set_applied_seq(top)
            return []
        arrived: list[TimelineEntry]
        deleted = self.merger.deleted
        if all(e.kind == ev.ENTRY_ADDED and e.data.get("id") not in deleted for _, e in fresh):
            arrived = self._append_entries(fresh)
        else:
            arrived = self._update(fresh)
        self.set_applied_seq(top)
        return arrived

    def _append_entries(self, fresh: list[tuple[int, Event]]) -> list[TimelineEntry]:
        lines = [Line(REMOTE, seq, False, e.to_json()) for seq, e in fresh]
        entries = [ev.entry_from(e.data) for _, e in fresh]
        with self.applying(lines):
            added = self.store.append_entries(entries)
        if not added:
            with self.store.hold():
                self._append(lines)  # all were in the record already: still remember them
        return added

    def _update(self, fresh: list[tuple[int, Event]]) -> list[TimelineEntry]:
        lines: list[Line] = []

        def change(work: Incident) -> list[TimelineEntry]:
            lines.clear()
            # Copied under the session lock, adopted by the observer once the write succeeded.
            self.read_new()  # another process of this host may have applied some meanwhile
            merger = self._local.merger = self.merger.copy()
            have = {entry.id for entry in work.timeline}
            for seq, event in fresh:
                if event.id in self.known:
                    continue
                try:
                    add, remove = merger.apply(work, event)
                except BadEvent as exc:
                    warn(f"skipped event {event.id} from {event.host}: {exc}")
                    lines.append(Line(REMOTE, seq, True, event.to_json()))
                    continue
                lines.append(Line(REMOTE, seq, False, event.to_json()))
                name = str(event.data.get("name"))
                apply_derived(work, add, remove)
                lines.extend(Line(DERIVED, None, False, derived_event(work, e, name)) for e in add)
                lines.extend(Line(DERIVED, None, False, taken_back(work, i, name)) for i in remove)
            return [e for e in work.timeline if e.id not in have]

        with self.applying(lines):
            return self.store.update(change)


def derived_event(incident: Incident, entry: TimelineEntry, name: str) -> dict[str, Any]:
    """A conflict entry made here, for the journal only (never published)."""
    # Its event id is its entry id: the same on every host.
    data = {**ev.entry_data(entry), "field": name}
    return ev.Event(
        entry.id, incident.id, entry.at, "", entry.author, ev.ENTRY_ADDED, data
    ).to_json()


def taken_back(incident: Incident, entry_id: str, name: str) -> dict[str, Any]:
    """A conflict entry removed because a change in between became known."""
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"warroom:taken-back:{entry_id}"))
    data = {"id": entry_id, "field": name}
    return ev.Event(ident, incident.id, utcnow(), "", "", ev.ENTRY_DELETED, data).to_json()


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_int(path: Path, value: int) -> None:
    # Not fsynced on purpose: a stale marker only repeats idempotent work.
    temp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        fileio.write_all(fd, str(value).encode())
    finally:
        os.close(fd)
    os.replace(temp, path)
