"""The session's Store on a writer thread: the dashboard queues writes and never waits for one.

Every write (rollups, alert and action entries, typed notes, header changes) is queued and
written in order by one thread. A lock held by another process (a stuck `warroom note`, a slow
disk) delays writes and never drops them: the writer waits a moment, retries, and after
``STALL_S`` keeps the whole queue in a pending file beside the session, so a SIGKILL then
loses nothing (the next writer adds it; see ``pending``). Each write returns a Future: a typed
note is acknowledged when its Future says the entry is fsynced.

The same thread also picks up other writers' appends (``Store.refresh`` never blocks), so the
UI thread touches neither the disk nor the lock. ``on_change`` is called on the writer thread
whenever the record changed; the UI turns that into a message.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.sessions import pending
from warroom.sessions.model import ActionItem, ModelError, SampleRollup, TimelineEntry
from warroom.sessions.mutations import Mutation
from warroom.sessions.store import SessionError, SessionLocked, Store

STALL_S = 1.0  # waiting this long for the lock: keep the queue in the pending file
LOCK_WAIT_S = 0.25  # one attempt's wait for the lock; short, so close() is never held up
REFRESH_S = 0.5  # how often other writers' appends are looked for (a stat when none)


@dataclass(slots=True)
class _Op:
    label: str
    run: Callable[[Store], Any]
    keep: pending.Pending  # the write as data, for the pending file
    future: Future[Any] = field(default_factory=Future)


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
        self._queue: deque[_Op] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._deadline = 0.0
        self._stalled_since: float | None = None
        self._spilled = False
        self._respill = False  # the pending file no longer matches the queue
        self.error: str | None = None  # the last failure to open or refresh, for the UI
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
        """Writes queued and not yet on disk (the one in progress included)."""
        return len(self._queue)

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
                            pending.Pending(samples=rows))  # fmt: skip

    def append_action_item(self, item: ActionItem) -> Future[Any]:
        return self._submit("action item", lambda s: s.append_action_item(item),
                            pending.Pending(action_items=[item]))  # fmt: skip

    def mutate(self, change: Mutation) -> Future[Any]:
        return self._submit(change.label, lambda s: s.mutate(change),
                            pending.Pending(changes=[change]))  # fmt: skip

    def _submit(
        self, label: str, run: Callable[[Store], Any], keep: pending.Pending
    ) -> Future[Any]:
        op = _Op(label, run, keep)
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
            while self._queue:
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
        return len(self._queue)

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
                    left = next_refresh - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if not self._queue and self._stopping:
                    return
                op = self._queue[0] if self._queue else None
            if op is None:
                next_refresh = time.monotonic() + self.refresh_every
                self._refresh(store)
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

    def _spill(self) -> None:
        """Keep the queue in the pending file. Writer thread only, and without the condition
        held: the file is written and fsynced while the UI may be queueing more."""
        if self._store is None:
            return
        kept = pending.Pending()
        with self._cond:
            self._respill = False
            for op in self._queue:
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
            self._changed()

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
