"""The session's Store on a writer thread: the dashboard queues writes and never waits for one.

Every write (rollups, alert and action entries, typed notes, header changes) is queued and
written in order by one thread. A lock held by another process (a stuck `warroom note`, a slow
disk) delays writes and never drops them: the writer waits a moment, retries, and after
``STALL_S`` keeps the whole queue in a pending file beside the session, so a SIGKILL then
loses nothing (the next writer adds it; see ``pending``). Each write returns a Future: a typed
note is acknowledged when its Future says the entry is fsynced.

Rollups whose write fails on the disk itself (full: ENOSPC, EDQUOT, EFBIG; failing: EIO,
EROFS) are not dropped: they wait in memory, in order, and the writer tries again every
``HELD_RETRY_S`` until they land (later rollups wait behind them, so the file keeps their
order); other writes go on meanwhile (a typed note fails and stays in its box). At most
``HELD_MAX`` rollups wait: past it the oldest are dropped, ``error`` says how many, and once the
disk is back a timeline note says which windows the record lacks. Their Future's result is
None once written, False if dropped. At close they join the pending file like any write.

The same thread also picks up other writers' appends (``Store.refresh`` never blocks), so the
UI thread touches neither the disk nor the lock: every ``REFRESH_S`` while others are writing,
every ``REFRESH_IDLE_S`` once nothing came from them for ``QUIET_S`` (a stat each time; the
thread's wake-up costs more than the stat, and an idle dashboard woke twice a second for it).
Either way another shell's note is on the screen within a second. ``on_change`` is called on
the writer thread whenever the record changed; the UI turns that into a message.
"""

from __future__ import annotations

import errno
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.sessions import pending
from warroom.sessions.model import (
    ActionItem,
    Kind,
    ModelError,
    SampleRollup,
    Source,
    TimelineEntry,
)
from warroom.sessions.mutations import Mutation
from warroom.sessions.store import SessionDiskError, SessionError, SessionLocked, Store
from warroom.sessions.store.errors import reason
from warroom.sessions.times import utcnow

STALL_S = 1.0  # waiting this long for the lock: keep the queue in the pending file
LOCK_WAIT_S = 0.25  # one attempt's wait for the lock; short, so close() is never held up
REFRESH_S = 0.5  # how often other writers' appends are looked for (a stat when none)...
REFRESH_IDLE_S = 0.9  # ...and once they have been quiet for QUIET_S: still within a second
QUIET_S = 30.0
# Rollups kept in memory while the disk refuses them: 4,000 windows of 10 s are 11 hours of one
# server, an hour of ten, a few MB. Past it the oldest go (see the module's docstring).
HELD_MAX = 4000
HELD_RETRY_S = 1.0  # how often held rollups are tried again (one failed append, cheap)
HELD_BATCH = 200  # rollups per append when they are written: a disk just freed may fit few
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


def disk_failure(exc: BaseException) -> str | None:
    """The OS's words for a full or failing disk, if that is what ``exc`` is; else None.

    The Store words OS errors as SessionDiskErrors that keep the errno, which says whether
    waiting can help; an OSError from outside the Store is judged by its errno too.
    """
    if isinstance(exc, SessionDiskError) and exc.errno in DISK_ERRNOS:
        return exc.reason
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        return reason(exc)
    return None


@dataclass(slots=True)
class _Op:
    label: str
    run: Callable[[Store], Any]
    keep: pending.Pending  # the write as data, for the pending file
    future: Future[Any] = field(default_factory=Future)
    rows: list[SampleRollup] | None = None  # a rollups write: held, not dropped, on a bad disk


class Recorder:
    def __init__(
        self,
        store: Store | Callable[[], Store],
        *,
        on_change: Callable[[], None] | None = None,
        refresh_every: float = REFRESH_S,
    ) -> None:
        self._store: Store | None = store if isinstance(store, Store) else None
        self._open = None if isinstance(store, Store) else store
        self.on_change = on_change
        self.refresh_every = refresh_every
        self.idle_every = max(refresh_every, REFRESH_IDLE_S)
        self._others_at = time.monotonic()  # when others' writes were last picked up
        self._queue: deque[_Op] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._deadline = 0.0
        self._stalled_since: float | None = None
        self._spilled = False
        self._respill = False  # the pending file no longer matches the queue
        self._error: str | None = None  # the last failure to open or refresh
        self._held: deque[_Op] = deque()  # rollups the disk refused, oldest first
        self._held_rows = 0
        self._held_why = ""  # the disk's error, e.g. "No space left on device"
        self._retry_at = 0.0
        self._dropped: list[SampleRollup] = []  # past HELD_MAX: the first and last dropped
        self._dropped_n = 0
        self.kept_in: Path | None = None  # where unwritten writes were left at close
        self._thread = threading.Thread(target=self._run, name="warroom-recorder", daemon=True)
        self._thread.start()

    # -- what the UI reads (never blocks) ------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            raise SessionError("the session is still being opened")
        return self._store

    @property
    def pending(self) -> int:
        """Writes queued and not yet on disk (the one in progress and held rollups included)."""
        return len(self._queue) + len(self._held)

    @property
    def held(self) -> int:
        """Rollups waiting in memory for the disk."""
        return self._held_rows

    @property
    def error(self) -> str | None:
        """What the UI should say about the record: rollups waiting for the disk, else the last
        failure to open or refresh."""
        if self._held_rows:
            # Short first: the header shows about 60 characters of it.
            text = f"{self._held_rows} rollups wait for the disk ({self._held_why})"
            if self._dropped_n:
                text = f"{self._dropped_n} oldest rollups dropped, {text}"
            return text
        return self._error

    @error.setter
    def error(self, value: str | None) -> None:
        self._error = value

    @property
    def stalled_for(self) -> float:
        """Seconds the oldest queued write has waited for the lock (0 when it is not waiting)."""
        since = self._stalled_since
        return 0.0 if since is None else time.monotonic() - since

    # -- queueing ------------------------------------------------------------------------------

    def append_entry(self, entry: TimelineEntry, detects: bool = False) -> Future[Any]:
        keep = pending.Pending(entries=[(entry, detects)])
        return self._submit(f"{entry.kind.value} entry",
                            lambda s: s.append_entry(entry, detects), keep)  # fmt: skip

    def append_samples(self, rollups: Sequence[SampleRollup]) -> Future[Any]:
        rows = list(rollups)
        return self._submit("rollups", lambda s: s.append_samples(rows),
                            pending.Pending(samples=rows), rows)  # fmt: skip

    def append_action_item(self, item: ActionItem) -> Future[Any]:
        return self._submit("action item", lambda s: s.append_action_item(item),
                            pending.Pending(action_items=[item]))  # fmt: skip

    def mutate(self, change: Mutation) -> Future[Any]:
        return self._submit(change.label, lambda s: s.mutate(change),
                            pending.Pending(changes=[change]))  # fmt: skip

    def _submit(
        self,
        label: str,
        run: Callable[[Store], Any],
        keep: pending.Pending,
        rows: list[SampleRollup] | None = None,
    ) -> Future[Any]:
        op = _Op(label, run, keep, rows=rows)
        with self._cond:
            if self._stopping:
                op.future.set_exception(SessionError("the recorder is closed"))
                return op.future
            self._queue.append(op)
            # While the lock is held elsewhere the writer keeps the new write in the pending
            # file too; it does that on its own thread, never this one (the UI's).
            self._respill = self._spilled
            self._cond.notify()
        return op.future

    # -- stopping --------------------------------------------------------------------------

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued is written (for callers that may block); True if so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._held:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def close(self, timeout: float = 2.0) -> int:
        """Write what is queued, for at most ``timeout`` seconds; the rest stays pending.

        Returns how many writes were left in the pending file (``kept_in``); 0 when all is on
        disk. Safe to call twice.
        """
        with self._cond:
            if not self._stopping:
                self._stopping = True
                self._deadline = time.monotonic() + timeout
            self._cond.notify_all()
        self._thread.join(timeout + 2.0)
        return len(self._queue) + len(self._held)

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        if self._store is None and not self._open_store():
            return
        store = self.store
        store.lock_wait = LOCK_WAIT_S
        next_refresh = time.monotonic() + self.refresh_every
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    wake = next_refresh
                    if self._held or self._dropped_n:
                        wake = min(wake, self._retry_at)
                    left = wake - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if not self._queue and self._stopping:
                    self._close_held(store)
                    return
                op = self._queue[0] if self._queue else None
            if (self._held or self._dropped_n) and time.monotonic() >= self._retry_at:
                self._write_held(store)
                continue
            if op is None:
                self._refresh(store)
                next_refresh = time.monotonic() + self._refresh_wait()
                continue
            if op.rows is not None and self._held:
                self._hold(op)  # behind those waiting: the file keeps the rollups' order
                continue
            if self._write(store, op):
                continue
            # The lock is held elsewhere: keep the queue safe, wait a little, try again.
            if self._stopping and time.monotonic() >= self._deadline:
                self._spill()
                self.kept_in = pending.pending_path(store.path)
                return
            if self._respill or (self.stalled_for >= STALL_S and not self._spilled):
                self._spill()
            with self._cond:
                self._cond.wait(0.05)

    def _write(self, store: Store, op: _Op) -> bool:
        """Run one queued write; False when it must be retried (lock held elsewhere)."""
        before = store.changes
        try:
            result = op.run(store)
        except SessionLocked:
            if self._stalled_since is None:
                self._stalled_since = time.monotonic()
            return False
        except (SessionError, ModelError, OSError, ValueError) as exc:
            bad_disk = disk_failure(exc)
            if op.rows is not None and bad_disk is not None:
                self._held_why = bad_disk
                self._retry_at = time.monotonic() + HELD_RETRY_S
                self._hold(op)
                return True
            self._done(op)
            op.future.set_exception(exc)
        else:
            self._done(op)
            op.future.set_result(result)
        if store.changes != before:
            self._changed()
        return True

    def _done(self, op: _Op) -> None:
        with self._cond:
            self._queue.popleft()
            self._stalled_since = None
            self._cond.notify_all()
        if self._spilled:
            self._spill()  # what is still queued, or nothing: the file goes away

    # -- rollups the disk refused -------------------------------------------------------------

    def _hold(self, op: _Op) -> None:
        """Move the rollups write at the head of the queue to the held ones (bounded)."""
        assert op.rows is not None
        dropped: list[_Op] = []
        with self._cond:
            self._queue.popleft()
            self._stalled_since = None
            self._held.append(op)
            self._held_rows += len(op.rows)
            while self._held_rows > HELD_MAX and len(self._held) > 1:
                old = self._held.popleft()
                self._held_rows -= len(old.rows or ())
                dropped.append(old)
            self._cond.notify_all()
        for old in dropped:
            rows = old.rows or []
            if rows:
                first = self._dropped[0] if self._dropped else rows[0]
                self._dropped = [first, rows[-1]]
                self._dropped_n += len(rows)
            old.future.set_result(False)

    def _write_held(self, store: Store) -> None:
        """Try the held rollups again, oldest first, a batch per append; then the gap note."""
        while self._held:
            batch: list[_Op] = []
            rows: list[SampleRollup] = []
            for op in self._held:
                if batch and len(rows) + len(op.rows or ()) > HELD_BATCH:
                    break
                batch.append(op)
                rows.extend(op.rows or ())
            try:
                store.append_samples(rows)
            except SessionLocked:
                self._retry_at = time.monotonic() + LOCK_WAIT_S
                return
            except (SessionError, ModelError, OSError, ValueError) as exc:
                bad_disk = disk_failure(exc)
                if bad_disk is not None:
                    self._held_why = bad_disk
                    self._retry_at = time.monotonic() + HELD_RETRY_S
                    return
                # Not the disk (the file went away, say): these fail as any refused write.
                self._release(batch, exc)
                continue
            self._release(batch, None)
            self._changed()
        if self._dropped_n:
            self._note_dropped(store)

    def _release(self, batch: list[_Op], exc: BaseException | None) -> None:
        with self._cond:
            for _ in batch:
                old = self._held.popleft()
                self._held_rows -= len(old.rows or ())
            self._cond.notify_all()
        for op in batch:
            if exc is None:
                op.future.set_result(None)
            else:
                op.future.set_exception(exc)
        if self._spilled:
            self._spill()

    def _note_dropped(self, store: Store) -> None:
        """Say on the timeline which windows the record lacks (once the disk takes it)."""
        first, last = self._dropped[0].at, self._dropped[-1].at
        text = (
            f"{self._dropped_n} sample rollups from {first:%Y-%m-%d %H:%M:%S}Z to "
            f"{last:%H:%M:%S}Z were not saved: the disk refused writes ({self._held_why}) for "
            f"longer than {HELD_MAX} rollups could wait in memory"
        )
        entry = TimelineEntry(at=utcnow(), text=text, kind=Kind.NOTE, author="warroom",
                              source=Source.AUTO)  # fmt: skip
        try:
            store.append_entry(entry)
        except (SessionError, ModelError, OSError, ValueError):
            self._retry_at = time.monotonic() + HELD_RETRY_S
            return
        self._dropped, self._dropped_n = [], 0
        self._changed()

    def _close_held(self, store: Store) -> None:
        """At close: the held rollups get until the deadline, then go to the pending file."""
        while (self._held or self._dropped_n) and time.monotonic() < self._deadline:
            if time.monotonic() >= self._retry_at:
                self._write_held(store)
            else:
                with self._cond:
                    self._cond.wait(min(0.05, max(self._retry_at - time.monotonic(), 0.0)))
        if self._held:
            self._spill()
            if self._spilled:
                self.kept_in = pending.pending_path(store.path)

    def _spill(self) -> None:
        """Keep the queue in the pending file. Writer thread only, and without the condition
        held: the file is written and fsynced while the UI may be queueing more."""
        if self._store is None:
            return
        kept = pending.Pending()
        with self._cond:
            self._respill = False
            for op in (*self._held, *self._queue):  # held rollups are older than the queue's
                kept.add(op.keep)
        try:
            pending.write(self._store.path, kept)
        except (OSError, SessionError, ValueError) as exc:
            self.error = f"cannot keep pending writes beside the session: {exc}"
            return
        self._spilled = bool(len(kept))

    def _refresh(self, store: Store) -> None:
        before = store.changes
        try:
            store.refresh()
            self.error = None
        except SessionError as exc:
            self.error = str(exc)
        if store.changes != before:
            self._others_at = time.monotonic()
            self._changed()

    def _refresh_wait(self) -> float:
        """Seconds to the next look for others' writes: longer once they have been quiet."""
        quiet = time.monotonic() - self._others_at >= QUIET_S
        return self.idle_every if quiet else self.refresh_every

    def _open_store(self) -> bool:
        assert self._open is not None
        try:
            self._store = self._open()
        except (SessionError, OSError) as exc:
            self.error = str(exc)
            with self._cond:
                self._stopping = True
                for op in self._queue:
                    op.future.set_exception(SessionError(self.error))
                self._queue.clear()
                self._cond.notify_all()
            return False
        return True

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # the UI may be gone at exit; the record is what matters
                pass
