"""The sender: one thread per process that moves events from the outbox to their destinations.

Per destination, in order: the head message (see outbox.head) is sent, deleted when the
destination took it, else retried after a jittered backoff (``retry_base_s`` doubling up to
``retry_max_s``); what queues meanwhile waits behind it. After each send the destination rests
``min_interval_s``: events born in that time leave together as one message (the rate limit
folds a burst). A flock per destination lets several processes share the outbox without two
sending the same message at once; a process killed mid-send drops its lock, and the next one
resends the frozen message under the same idempotency key (at least once).

Nothing here runs on the UI thread: ``publish_soon`` only appends to a deque and wakes the
thread, which then does the fsync.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from warroom.notify import config
from warroom.notify.config import Destination
from warroom.notify.events import Event

if TYPE_CHECKING:
    from warroom.notify.outbox import Outbox

log = logging.getLogger("warroom.notify")
IDLE_S = 5.0  # how often the outbox is looked at when nothing woke the thread (other processes)


class Notifier:
    def __init__(
        self,
        destinations: tuple[Destination, ...],
        outbox: Callable[[], Outbox] | None = None,
    ) -> None:
        self.destinations = {d.name: d for d in destinations}
        self._make_outbox = outbox
        self._outbox: Outbox | None = None
        self._outbox_lock = threading.Lock()
        self._cond = threading.Condition()
        self._soon: deque[Event] = deque()
        self._queueing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_try: dict[str, float] = {}
        self._next_send: dict[str, float] = {}
        self._locks: dict[str, int] = {}
        self._problems: dict[str, str] = {}  # destination (or "outbox") -> one line
        self._waiting: dict[str, int] = {}
        self._busy = False
        self._stopping = False
        self.delivered = 0

    @property
    def outbox(self) -> Outbox:
        with self._outbox_lock:
            if self._outbox is None:
                # Imported here: `warroom note` without destinations pays nothing for SQLite.
                from warroom.notify.outbox import Outbox

                self._outbox = (self._make_outbox or Outbox)()
            return self._outbox

    # -- queueing ---------------------------------------------------------------------------

    def publish(self, event: Event) -> int:
        """Queue ``event`` for each destination that wants it; returns once fsynced (how many).
        Blocks on the disk: not for the UI thread."""
        rows = [(d.name, event) for d in self.destinations.values() if d.wants(event)]
        if not rows:
            return 0
        count = self.outbox.add(rows)
        self.wake()
        return count

    def publish_soon(self, event: Event) -> None:
        """Hand ``event`` to the sender thread, which queues it; never touches the disk."""
        if not self.destinations:
            return
        with self._cond:
            self._soon.append(event)
            self._cond.notify_all()
        self.start()

    def wake(self) -> None:
        self.start()
        with self._cond:
            self._cond.notify_all()

    def start(self) -> None:
        with self._cond:
            if self._thread is None and self.destinations:
                self._thread = threading.Thread(target=self._run, name="warroom-notify",
                                                daemon=True)  # fmt: skip
                self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Queue (fsync) what was handed off and not yet queued, here; then stop the thread,
        waiting at most ``timeout`` for a send in flight (it stays frozen in the outbox)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        self._queue_handed_off()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                return  # mid-send: its lock files close with the process
        for fd in self._locks.values():
            os.close(fd)
        self._locks.clear()

    # -- what people see (memory only) --------------------------------------------------------

    def trouble(self) -> str | None:
        """One line for the dashboard's header, None while every destination is well."""
        problems = dict(self._problems)
        if not problems:
            return None
        name, text = next(iter(problems.items()))
        line = f"notify {name}: {text}"
        waiting = self._waiting.get(name)
        if waiting:
            line += f" ({waiting} queued)"
        if len(problems) > 1:
            line += f"; {len(problems) - 1} more failing"
        return line

    def problems(self) -> list[str]:
        return [f"notify {name}: {text}" for name, text in dict(self._problems).items()]

    def flush(self, timeout: float) -> bool:
        """Wait (bounded) until the outbox holds nothing for our destinations, or each that
        still has some failed at least once; True when all went."""
        deadline = time.monotonic() + timeout
        self.wake()
        while time.monotonic() < deadline:
            with self._cond:
                idle = not self._soon and not self._busy
            if idle:
                waiting = {n: c for n, c in self.outbox.waiting().items()
                           if n in self.destinations}  # fmt: skip
                if not waiting:
                    return True
                if all(name in self._problems for name in waiting):
                    return False
            with self._cond:
                self._cond.wait(0.05)
        return False

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._busy = True
            self._queue_handed_off()
            wake_at = time.monotonic() + IDLE_S
            try:
                self._waiting = {n: c for n, c in self.outbox.waiting().items()
                                 if n in self.destinations}  # fmt: skip
                for name in self._waiting:
                    now = time.monotonic()
                    due = max(self._next_try.get(name, 0.0), self._next_send.get(name, 0.0))
                    if due > now:
                        wake_at = min(wake_at, due)
                        continue
                    self._attempt(self.destinations[name])
                    wake_at = now  # look again at once: more may wait behind it
            except Exception as exc:  # the outbox itself (disk full, locked too long)
                self.problem("outbox", f"{type(exc).__name__}: {exc}")
                wake_at = time.monotonic() + 1.0
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if self._stopping and not self._soon:
                    return
                left = wake_at - time.monotonic()
                if left > 0 and not self._soon:
                    self._cond.wait(left)

    def _queue_handed_off(self) -> None:
        # Under one lock from take to commit: the thread and close() keep the handed-off order.
        with self._queueing:
            with self._cond:
                soon = list(self._soon)
                self._soon.clear()
            for event in soon:
                try:
                    self.publish(event)
                    self._clear("outbox")
                except Exception as exc:
                    self.problem("outbox", f"cannot queue an event: {type(exc).__name__}: {exc}")

    def _attempt(self, dest: Destination) -> None:
        fd = self._lock_fd(dest.name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Another process is sending for it: it keeps the order; we look again later.
            self._next_try[dest.name] = time.monotonic() + min(dest.retry_base_s, 1.0)
            return
        from warroom.notify.send import deliver  # urllib: on the sender thread, when needed

        try:
            head = self.outbox.head(dest.name, dest.max_batch)
            if head is None:
                return
            key, events, attempts = head
            answer = deliver(dest, key, events)
            self._next_send[dest.name] = time.monotonic() + dest.min_interval_s
            if answer.ok:
                self.outbox.done(key)
                self.delivered += len(events)
                self._next_try.pop(dest.name, None)
                self._clear(dest.name)
                return
            self.outbox.failed(key, answer.text)
            delay = min(dest.retry_max_s, dest.retry_base_s * 2 ** min(attempts, 30))
            delay *= random.uniform(0.5, 1.0)  # jitter: many senders do not retry in step
            self._next_try[dest.name] = time.monotonic() + delay
            self.problem(dest.name, answer.text)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self, name: str) -> int:
        fd = self._locks.get(name)
        if fd is None:
            digest = hashlib.sha256(name.encode()).hexdigest()[:16]
            path = self.outbox.path.parent / f"notify-{digest}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._locks[name] = fd
        return fd

    def problem(self, name: str, text: str) -> None:
        """Record (and log once) that ``name`` (a destination, or "outbox") fails."""
        if self._problems.get(name) != text:
            log.warning("notify %s: %s (kept in the outbox, retrying)", name, text)
        self._problems[name] = text

    def _clear(self, name: str) -> None:
        if self._problems.pop(name, None) is not None:
            log.warning("notify %s: delivering again", name)


_current: Notifier | None = None
_lock = threading.Lock()


def get() -> Notifier:
    """This process's notifier, the config read on first use (ConfigError when it is bad)."""
    global _current
    with _lock:
        if _current is None:
            _current = Notifier(config.load())
            # At exit, what the dashboard handed off and the thread has not queued yet is
            # fsynced into the outbox; a send in flight is not waited for (it is resent).
            atexit.register(_current.close, 0.0)
        return _current


def current() -> Notifier | None:
    """The notifier if one was made; never reads anything (for the UI thread)."""
    return _current


def reset() -> None:
    """Forget this process's notifier (its thread stopped): the next ``get`` reads the config
    again. For tests, which change the config between runs in one process."""
    global _current
    with _lock:
        old, _current = _current, None
    if old is not None:
        old.close()
