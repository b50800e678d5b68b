"""The writer of one session file: ``Store`` (the lock, appends, rewrites, recovery of a torn
tail, pending writes left by writers that died, catching up with other writers).

New timeline entries, action items and sample rollups are appended (one write of the whole
block, then fsync) under an exclusive flock on PATH.lock, so a note costs the same in hour 8 as
in minute 1 and "acknowledged" means "on disk". Everything else (status, severity, header
edits, entry edits and deletes) rewrites the file atomically: temp file, fsync, rename, fsync
the directory. ``Store.open`` cuts a torn last block off and keeps its bytes beside the file.

Over 500 lines for one reason: ``Store`` is one class (some 470 lines) whose methods all work
under one lock on one file's in-memory state (``_seen``, ``_whole``, ``_ids``); reading, parsing
and the lazy split are elsewhere already, and a split of the class would share those privates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from warroom.sessions import fileio, pending
from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    SampleRollup,
    Source,
    TimelineEntry,
    check_typed,
)
from warroom.sessions.mutations import Mutation
from warroom.sessions.rollups import LazyRollups, render_session
from warroom.sessions.store.appended import read_appended, repeats_ids
from warroom.sessions.store.errors import (
    SessionDiskError,
    SessionError,
    SessionLocked,
    os_error,
    reason,
)
from warroom.sessions.store.load import parse_file, read
from warroom.sessions.store.parse import Parsed, tomllib
from warroom.sessions.store.problems import duplicate_problems, warn_once
from warroom.sessions.times import utcnow
from warroom.sessions.toml_codec import (
    SCHEMA,
    Duplicate,
    FieldError,
    action_item_table,
    decode_header,
    entry_table,
    header_tables,
    render_block,
    render_blocks,
    render_document,
    rollup_table,
)

T = TypeVar("T")

__all__ = ["Store", "Written"]


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the file looked like when this Store last read or wrote it."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> _Seen:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _assign(into: Incident, source: Incident) -> None:
    """Make ``into`` equal to ``source`` in place, so holders of ``Store.incident`` see it."""
    for f in dataclasses.fields(Incident):
        setattr(into, f.name, getattr(source, f.name))


_LISTS = frozenset({"timeline", "action_items", "samples"})


def _header_state(incident: Incident) -> dict[str, Any]:
    return {
        f.name: dataclasses.replace(value) if dataclasses.is_dataclass(value) else value
        for f in dataclasses.fields(Incident)
        if f.name not in _LISTS
        for value in (getattr(incident, f.name),)
    }


@dataclass(frozen=True, slots=True)
class Written:
    """What one successful write of this Store changed, for whoever mirrors the record.

    Observers run under the file lock, after the write is durable and ``store.incident`` shows
    it, so whatever they record beside the file is in step with it (sharing keeps its outbox
    this way). ``before`` is the incident before a rewrite; None for appends, whose whole change
    is ``appended``.
    """

    store: Store
    before: Incident | None
    appended: tuple[TimelineEntry | ActionItem, ...] = ()


class Store:
    """The writer of one session file; the TUI and every CLI command that writes use one.

    ``incident`` is the in-memory truth, kept in step with the file: it changes only after the
    file did. Safe to share between threads of one process; processes coordinate via PATH.lock.
    """

    path: Path
    incident: Incident
    recovered_to: Path | None

    def __init__(
        self,
        path: Path,
        incident: Incident,
        seen: _Seen,
        whole: int,
        schema: int = SCHEMA,
        lazy: bool = False,
    ) -> None:
        self.path = path
        self.schema = schema
        self.lazy = lazy  # rollups read from the file stay undecoded until used (``open``)
        self.incident = incident
        self.recovered_to = None
        self._seen = seen
        self._whole = whole  # < seen.size while a torn tail we did not cut is on disk
        self._ids = {entry.id for entry in incident.timeline}
        self._mutex = threading.RLock()
        # How long a write waits for another writer's lock (the Recorder waits briefly and
        # retries, so it can report the wait and stop when asked).
        self.lock_wait: float = fileio.LOCK_WAIT
        # Counts every change to ``incident`` (ours, or others' picked up): readers compare it
        # to know when to redraw, whichever write brought the change in.
        self.changes = 0
        self.pending_added = 0  # writes taken from pending files of writers that were gone
        self._observers: list[Callable[[Written], None]] = []
        # Entries and action items whose id came earlier in the file: left out of ``incident``
        # (readers show the first) and written back after the rest by a rewrite, so a writer
        # never loses or changes them; ``problems`` names them.
        self.duplicates: tuple[Duplicate, ...] = ()
        self.problems: tuple[str, ...] = ()

    def _set_aside(self, path: Path, data: bytes, parsed: Parsed) -> None:
        self.duplicates = parsed.duplicates
        self.problems = duplicate_problems(path, data, parsed.duplicates)
        warn_once(self.problems)

    def observe(self, observer: Callable[[Written], None]) -> None:
        """Call ``observer`` after each successful write of this Store (not others' writes)."""
        self._observers.append(observer)

    def _written(self, before: Incident | None, appended: Sequence[Any] = ()) -> None:
        for observer in self._observers:
            observer(Written(self, before, tuple(appended)))

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, incident: Incident) -> Store:
        """Write a new session file (parents created, 0600, durable); refuses an existing one."""
        path = Path(path)
        if os.path.lexists(path):
            raise SessionError(f"session file already exists: {path}")
        data = _render(path, render_document, incident)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with fileio.locked(path, exclusive=True):
                fileio.create_exclusively(path, data)
                st = os.stat(path)
        except FileExistsError as exc:
            raise SessionDiskError.of(f"session file already exists: {path}", exc) from None
        except OSError as exc:
            raise os_error(path, exc, "cannot create") from None
        return cls(path, incident, _Seen.of(st), st.st_size)

    @classmethod
    def open(cls, path: Path, *, lazy: bool = False) -> Store:
        """Open an existing session to write to it, cutting off a torn last append if any.

        The torn bytes are kept beside the file (``recovered_to``); everything before them is
        validated first, so a corrupt file raises SessionError and stays byte-identical.

        ``lazy`` is for writers that never look at the rollups (``note``, ``status``, sharing's
        catch-up): ``incident.samples`` is then a LazyRollups, decoded only if something reads
        it, and rollups read from the file (now or appended later by others) are written back
        byte for byte by a rewrite. Such a writer does not validate rollup blocks before the
        last block: a malformed one is kept as it is (``warroom check`` and every full read
        still name it); the last block is checked whatever it holds, as the torn-tail check
        needs. The upgrade of an older schema and a pending file with rollups decode them.
        """
        path = Path(path)
        if not os.path.lexists(path):
            raise SessionError(f"no such session file: {path}")
        try:
            with fileio.locked(path, exclusive=True):
                data, st = read(path)
                parsed = parse_file(path, data, lazy=lazy)
                store = cls(path, parsed.incident, _Seen.of(st), parsed.whole, parsed.schema,
                            lazy)  # fmt: skip
                store._set_aside(path, data, parsed)
                if parsed.torn is not None:
                    store._recover(parsed)
                fileio.sweep_dead_temps(path)
                store._take_pending()
        except OSError as exc:
            raise os_error(path, exc, "cannot open for writing") from None
        return store

    # -- appends ---------------------------------------------------------------------------

    def append_entry(self, entry: TimelineEntry, detects: bool = False) -> None:
        """Append one timeline entry; returns once it is fsynced.

        An entry that changes the header (a first detection sets detected_at; ``detects``
        makes any entry count as one) rewrites instead.
        """
        check_typed(entry)  # ModelError: a note over the limit is refused before the lock
        with self._mutex, self._writing():
            if entry.id in self._ids:
                raise SessionError(f"{self.path}: timeline already has an entry with id {entry.id}")
            block = _render(self.path, render_block, "timeline", entry_table(entry))
            before = _header_state(self.incident)
            header_changed = self.incident.add_entry(entry, detects)  # ModelError: unchanged
            try:
                if header_changed:
                    self._rewrite(self.incident)
                else:
                    self._append(block)
            except BaseException:
                # Put memory back as it was: the file did not change.
                if self.incident.timeline and self.incident.timeline[-1] is entry:
                    self.incident.timeline.pop()
                for name, value in before.items():
                    setattr(self.incident, name, value)
                raise
            self._ids.add(entry.id)
            self.changes += 1
            self._written(None, (entry,))

    def has_entry(self, entry_id: str) -> bool:
        return entry_id in self._ids

    def append_entries(self, entries: Sequence[TimelineEntry]) -> list[TimelineEntry]:
        """Append entries in one write + fsync, skipping ids already on the timeline.

        For merging others' entries: a batch of 10,000 costs one fsync, and a repeat is a no-op.
        Returns the entries actually added.
        """
        with self._mutex, self._writing():
            new: list[TimelineEntry] = []
            ids = set(self._ids)
            for entry in entries:
                if entry.id not in ids:
                    ids.add(entry.id)
                    new.append(entry)
            if not new:
                return []
            if self.incident.detected_at is None and any(e.kind is Kind.DETECTION for e in new):
                # A first detection changes the header: one rewrite does it all.
                work = self.incident.copy()
                for entry in new:
                    work.add_entry(entry)
                self._check_header(work)
                self._rewrite(work)
                _assign(self.incident, work)
            else:
                tables = [entry_table(entry) for entry in new]
                self._append(_render(self.path, render_blocks, "timeline", tables))
                self.incident.timeline.extend(new)
            self._ids = ids
            self.changes += 1
            self._written(None, new)
            return new

    def append_samples(self, rollups: Sequence[SampleRollup]) -> None:
        """Append sample rollups, all in one write + fsync."""
        if not rollups:
            return
        with self._mutex, self._writing():
            tables = [rollup_table(rollup) for rollup in rollups]
            self._append(_render(self.path, render_blocks, "samples", tables))
            self.incident.samples.extend(rollups)
            self.changes += 1

    def append_action_item(self, item: ActionItem) -> None:
        with self._mutex, self._writing():
            if any(have.id == item.id for have in self.incident.action_items):
                raise SessionError(f"{self.path}: already has an action item with id {item.id}")
            block = _render(self.path, render_block, "action_items", action_item_table(item))
            self._append(block)
            self.incident.action_items.append(item)
            self.changes += 1
            self._written(None, (item,))

    def mutate(self, change: Mutation) -> object:
        """A change described as data (see ``mutations``); one applied already is a no-op."""
        return self.update(change.apply)

    # -- rewrites --------------------------------------------------------------------------

    def update(self, change: Callable[[Incident], T]) -> T:
        """Apply ``change`` to the incident and rewrite the file atomically; returns its result.

        Others' writes are picked up first, under the lock. ``change`` runs on a copy: if it
        raises (ModelError, say) or leaves something that cannot be stored, nothing is written
        and ``incident`` is as it was.
        """
        with self._mutex, self._writing():
            work = self.incident.copy()
            result = change(work)
            self._check_header(work)
            self._rewrite(work)
            before = self.incident.copy() if self._observers else None
            _assign(self.incident, work)
            self._ids = {entry.id for entry in work.timeline}
            self.changes += 1
            if before is not None:
                self._written(before)
            return result

    @contextlib.contextmanager
    def hold(self) -> Iterator[Incident]:
        """The file lock, with ``incident`` caught up: for keeping a side file in step with it."""
        with self._mutex, self._writing():
            yield self.incident

    # -- other writers ---------------------------------------------------------------------

    def refresh(self) -> list[TimelineEntry]:
        """Pick up appends and rewrites made by other processes; returns entries new to us.

        A single stat when nothing changed. Never blocks on a writer: if one holds the lock,
        this returns [] and the next call catches up. Raises SessionError if another process
        left the file unreadable.
        """
        with self._mutex:
            if not self._changed():
                return []
            try:
                with fileio.locked(self.path, exclusive=False, wait=None) as have:
                    return self._sync(recover=False) if have else []
            except OSError as exc:
                raise os_error(self.path, exc) from None

    # -- internals -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Exclusive lock, then catch up with (and repair after) other writers."""
        try:
            with fileio.locked(self.path, exclusive=True, wait=self.lock_wait):
                self._sync(recover=True)
                if self.schema < SCHEMA:
                    self._upgrade()
                yield
        except fileio.LockTimeout as exc:
            raise SessionLocked(
                f"{self.path}: {exc.strerror} ({fileio.lock_path(self.path)})"
            ) from None
        except OSError as exc:
            raise os_error(self.path, exc, "cannot write") from None

    def _stat(self) -> os.stat_result:
        try:
            return os.stat(self.path)
        except FileNotFoundError as exc:
            raise SessionDiskError.of(f"{self.path}: session file has gone away", exc) from None

    def _changed(self) -> bool:
        st = self._stat()
        return _Seen.of(st) != self._seen or self._whole != st.st_size

    def _sync(self, recover: bool) -> list[TimelineEntry]:
        """Bring memory up to date with the file; with ``recover``, cut a torn tail off it."""
        if not self._changed():
            return []
        if self._whole == self._seen.size:
            new = self._read_appended()
            if new is not None:
                return new
        data, st = read(self.path)
        parsed = parse_file(self.path, data, lazy=self.lazy)
        new = [entry for entry in parsed.incident.timeline if entry.id not in self._ids]
        _assign(self.incident, parsed.incident)
        self._set_aside(self.path, data, parsed)
        self._ids = {entry.id for entry in self.incident.timeline}
        self._seen = _Seen.of(st)
        self._whole = parsed.whole
        self.schema = parsed.schema
        self.changes += 1
        if recover and parsed.torn is not None:
            self._recover(parsed)
        return new

    def _read_appended(self) -> list[TimelineEntry] | None:
        """Just the blocks appended since we last looked; None when that is not the case."""
        ident = (self._seen.dev, self._seen.ino)
        found = read_appended(self.path, ident, self._seen.size, lazy=self.lazy)
        if found is None:
            return None
        blocks, st = found
        if repeats_ids(self.incident, blocks):
            return None  # the whole read sets them aside and names their lines
        new = [entry for entry in blocks["timeline"] if entry.id not in self._ids]
        self.incident.timeline.extend(blocks["timeline"])
        self.incident.action_items.extend(blocks["action_items"])
        self.incident.samples.extend(blocks["samples"])
        self._ids.update(entry.id for entry in blocks["timeline"])
        self._seen = _Seen.of(st)
        self._whole = st.st_size
        self.changes += 1
        return new

    def _recover(self, parsed: Parsed) -> None:
        """Keep the torn bytes beside the file, then cut the file back to its whole blocks."""
        assert parsed.torn is not None
        self.recovered_to = fileio.save_beside(self.path, "torn", parsed.torn)
        fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, parsed.whole)
            os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self._seen = _Seen.of(st)
        self._whole = st.st_size

    def _append(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            old = os.fstat(fd).st_size
            try:
                fileio.write_all(fd, data)
                os.fsync(fd)
            except OSError as exc:
                raise self._undo_append(fd, old, exc) from None
            self._seen = _Seen.of(os.fstat(fd))
            self._whole = self._seen.size
        finally:
            os.close(fd)

    def _undo_append(self, fd: int, old: int, exc: OSError) -> SessionDiskError:
        """Cut a failed append back off so no torn block is left behind (``exc``'s errno kept)."""
        why = reason(exc)
        try:
            os.ftruncate(fd, old)
            os.fsync(fd)
        except OSError:
            self._whole = -1  # unknown: the next write re-reads and recovers the tail
            return SessionDiskError.of(
                f"{self.path}: append failed ({why}); the partial block left at the end "
                "is cut off by the next write",
                exc,
            )
        self._seen = _Seen.of(os.fstat(fd))
        self._whole = self._seen.size
        return SessionDiskError.of(f"{self.path}: append failed ({why}); nothing was written", exc)

    def _take_pending(self) -> None:
        """Add what writers that died left in pending files (under the lock), then drop them."""
        files = pending.left_by_dead_writers(self.path)
        if not files:
            return
        found, taken, problems = pending.read_all(files)
        if problems:
            raise SessionError(f"cannot read a pending-writes file: {problems[0]}")
        work = self.incident.copy()
        added = pending.merge_into(work, found)
        if added:
            self._check_header(work)
            self._rewrite(work)
            _assign(self.incident, work)
            self._ids = {entry.id for entry in work.timeline}
            self.changes += 1
        self.pending_added = added
        for file in taken:
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
        fileio.fsync_dir(self.path.parent)

    def _upgrade(self) -> None:
        """One atomic rewrite in today's schema, logged on the timeline (never done silently)."""
        old = self.schema
        work = self.incident.copy()
        if isinstance(work.samples, LazyRollups):
            work.samples.decode()  # every rollup written anew, those a lazy writer kept too
        work.timeline.append(
            TimelineEntry(
                at=utcnow(),
                text=f"session file upgraded from schema {old} to {SCHEMA} (one rewrite; "
                "rollups now keep what the panes show)",
                kind=Kind.NOTE,
                author="warroom",
                source=Source.AUTO,
            )
        )
        self._rewrite(work)
        _assign(self.incident, work)
        self._ids = {entry.id for entry in work.timeline}

    def _check_header(self, incident: Incident) -> None:
        """Refuse a header the file could not be read back with (e.g. severity set directly)."""
        text = _render(self.path, lambda: tomli_w.dumps(header_tables(incident)))
        try:
            decode_header(tomllib.loads(text))
        except FieldError as exc:
            raise SessionError(f"{self.path}: refusing to write: {exc}") from None

    def _rewrite(self, incident: Incident) -> None:
        data = _render(self.path, render_session, incident) + _render_aside(self.duplicates)
        try:
            fileio.replace_atomically(self.path, data)
        except OSError as exc:
            raise SessionDiskError.of(
                f"{self.path}: rewrite failed ({reason(exc)}); the file is unchanged", exc
            ) from None
        st = os.stat(self.path)
        self._seen = _Seen.of(st)
        self._whole = st.st_size
        self.schema = SCHEMA


def _render_aside(duplicates: Sequence[Duplicate]) -> bytes:
    """The set-aside duplicates as blocks, after the rest of a rewrite (order kept)."""
    tables = {"timeline": entry_table, "action_items": action_item_table}
    return b"".join(
        render_block(dup.section, tables[dup.section](dup.item))  # type: ignore[operator]
        for dup in duplicates
    )


def _render(path: Path, render: Callable[..., T], *args: Any) -> T:
    try:
        return render(*args)
    except FieldError as exc:
        raise SessionError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SessionError(f"{path}: cannot store this value: {exc}") from None
