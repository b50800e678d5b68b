"""The Sharer: keeps one shared session in step with the ops database, on daemon threads.

No Textual here. A publisher thread sends this host's pending events (woken by every local
write, and once a second anyway) and beats the presence heartbeat; a listener thread LISTENs,
catches up by sequence after any notification, reconnect or second of silence, and applies
others' events to the Store. Neither ever holds up a local write: the Store's observer only
appends to the journal, and a dead ops database only makes the threads retry.

For the dashboard: ``status()`` is cheap (cached values, no I/O) and returns the header
indicator's text, the pending count and who is in the incident; ``take_arrived()`` hands over
the entries others wrote since the last call, so the UI can repaint without re-reading the file.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from warroom.formats import short_age
from warroom.sessions.model import TimelineEntry
from warroom.sessions.share import opsdb
from warroom.sessions.share.outbox import Outbox, warn
from warroom.sessions.share.publish import Busy, publish_pending
from warroom.sessions.store import SessionError, Store

if TYPE_CHECKING:
    import psycopg

PRESENCE_FRESH = 30.0  # seconds: a responder seen this recently is "in the incident now"


@dataclass(frozen=True, slots=True)
class ShareStatus:
    text: str  # "shared", "3 pending", "ops DB unreachable 2m, 3 pending"
    pending: int
    unreachable_for: float | None  # seconds since the ops database was last usable
    present: tuple[opsdb.Present, ...]  # responders seen in the last PRESENCE_FRESH seconds
    error: str  # the last failure, one line ("" when fine)


def presence_lines(status: ShareStatus) -> list[str]:
    """Who is in the incident now, one line each, for a widget to show as plain text."""
    out = []
    for p in status.present:
        who = p.author if "@" in p.author else f"{p.author}@{p.host}"
        out.append(
            f"{who:<30} since {p.since.astimezone(UTC):%H:%M:%S}Z  "
            f"last seen {short_age(p.age)} ago"
        )
    return out


class Sharer:
    def __init__(
        self,
        store: Store,
        dsn: str,
        *,
        host: str,
        author: str,
        poll: float = 1.0,
        heartbeat: float = 5.0,
        check_pooler: bool = True,
        outbox: Outbox | None = None,
        check: Future[str | None] | None = None,
        unshare: bool = False,
    ) -> None:
        """``check``: the verdict, still coming, on whether ``dsn`` is a watched server (its
        refusal, or None); nothing reaches the ops database before it is in. On a refusal
        the threads end, ``status`` says so and, with ``unshare`` (this dashboard shared the
        session), the record is no longer marked shared, so `warroom note` sends nothing."""
        self.dsn = dsn
        self.host = host
        self.author = author
        self.poll = poll
        self.heartbeat_every = heartbeat
        self.check_pooler = check_pooler
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._arrived: deque[TimelineEntry] = deque()
        self._present: tuple[opsdb.Present, ...] = ()
        self._present_at = 0.0
        self._failed_since: float | None = None
        self._error = ""
        self._threads: list[threading.Thread] = []
        self._check = check
        self._unshare = unshare
        self._checked = threading.Lock()  # one thread waits for the verdict and acts on it
        self.refused = ""  # why this dashboard does not share ("" while it does)
        if outbox is None:
            outbox = Outbox.attach(store, host, author, on_local=self.kick)
        else:
            outbox.on_local = self.kick
        self.outbox = outbox
        self._pending = len(self.outbox.pending())
        self.arrivals = 0  # entries applied from others so far (a counter the UI may poll)
        self.polling = False  # True behind a transaction pooler: no LISTEN, catch-up each poll

    # -- the API -----------------------------------------------------------------------------

    def start(self) -> Sharer:
        for name, target in (("publish", self._publisher), ("listen", self._listener)):
            thread = threading.Thread(target=target, name=f"warroom-share-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads after one last attempt to publish what is pending."""
        self._stop.set()
        self._wake.set()
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(end - time.monotonic(), 0.0))

    def kick(self) -> None:
        """A local write was journaled: publish soon (called by the Outbox, any thread)."""
        with self._lock:
            self._pending += 1
        self._wake.set()

    def status(self) -> ShareStatus:
        with self._lock:
            pending, failed, error = self._pending, self._failed_since, self._error
            # Ages as the ops server saw them when fetched, plus the time since we fetched.
            extra = time.monotonic() - self._present_at
            present = tuple(p for p in self._present if p.age + extra <= PRESENCE_FRESH)
        down = None if failed is None else time.monotonic() - failed
        if self.refused:
            return ShareStatus("not shared: the ops database is a watched server", pending,
                               None, (), self.refused)  # fmt: skip
        if down is not None:
            text = f"ops DB unreachable {short_age(down)}"
            if pending:
                text += f", {pending} pending"
        elif pending:
            text = f"{pending} pending"
        else:
            text = "shared (polling)" if self.polling else "shared"
        return ShareStatus(text, pending, down, present, error)

    def take_arrived(self) -> list[TimelineEntry]:
        with self._lock:
            out = list(self._arrived)
            self._arrived.clear()
        return out

    # -- threads -----------------------------------------------------------------------------

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            if self._failed_since is None:
                self._failed_since = time.monotonic()
            self._error = " ".join(str(exc).split())

    def _ok(self) -> None:
        with self._lock:
            self._failed_since = None
            self._error = ""

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _cleared(self) -> bool:
        """May this thread reach the ops database? Waits for a verdict still coming."""
        if self._check is None:
            return True
        with self._checked:
            while True:
                try:
                    refusal = self._check.result(timeout=0.1)
                    break
                except TimeoutError:
                    if self._stop.is_set():  # quitting first: nothing is sent unchecked
                        return False
                except Exception:  # cannot tell: shared, as when a server cannot be read
                    refusal = None
                    break
            if refusal is None or self.refused:
                return refusal is None
            self.refused = refusal
            self._stop.set()
            warn(refusal)
            if self._unshare:
                try:
                    self.outbox.store.update(lambda incident: setattr(incident, "share", ""))
                except SessionError as exc:
                    warn(f"the session is still marked shared: {exc}")
        return False

    def _publisher(self) -> None:
        if not self._cleared():
            return
        conn: psycopg.Connection[Any] | None = None
        beat = 0.0
        incident = self.outbox.incident_id
        while True:
            stopping = self._stop.is_set()
            try:
                if conn is None or conn.closed:
                    conn = opsdb.connect(self.dsn)
                publish_pending(self.outbox, conn)
                pending = len(self.outbox.pending())
                with self._lock:
                    self._pending = pending
                if time.monotonic() - beat >= self.heartbeat_every and not stopping:
                    opsdb.heartbeat(conn, incident, self.host, self.author)
                    present = opsdb.presence(conn, incident)
                    with self._lock:
                        self._present = tuple(present)
                        self._present_at = time.monotonic()
                    beat = time.monotonic()
                self._ok()
            except Busy:
                pass
            except (opsdb.OpsError, OSError) as exc:
                self._failed(exc)
                if conn is not None:
                    conn.close()
                conn = None
                if not stopping:
                    self._pause(1.0)
            if stopping:
                break
            self._wake.wait(self.poll)
            self._wake.clear()
        if conn is not None:
            conn.close()

    def _listener(self) -> None:
        if not self._cleared():
            return
        checked = not self.check_pooler
        while not self._stop.is_set():
            conn: psycopg.Connection[Any] | None = None
            try:
                if not checked:
                    try:
                        opsdb.check_listen(self.dsn)
                    except opsdb.NoListen as exc:
                        # Still usable: catch-up by sequence every poll instead of on NOTIFY.
                        warn(f"{exc}; polling every {self.poll:g}s instead")
                        self.polling = True
                    checked = True
                conn = opsdb.connect(self.dsn)
                with opsdb.deadline(conn):
                    opsdb.require_schema(conn, self.dsn)
                    if not self.polling:
                        conn.execute(f"LISTEN {opsdb.CHANNEL}")
                # Catch up after every (re)connect: notifications sent meanwhile are gone.
                self._catch_up(conn)
                self._ok()
                while not self._stop.is_set():
                    if self.polling:
                        self._pause(self.poll)
                    else:
                        with opsdb.deadline(conn, self.poll + opsdb.QUERY_TIMEOUT):
                            for _ in conn.notifies(timeout=self.poll, stop_after=1):
                                pass
                    # Whether woken or not: a cheap indexed query, and a liveness check.
                    self._catch_up(conn)
            except SessionError as exc:
                warn(f"cannot apply others' events yet: {exc}")
                self._pause(1.0)
            except (opsdb.OpsError, OSError) as exc:
                self._failed(exc)
                self._pause(1.0)
            finally:
                if conn is not None:
                    conn.close()

    def _catch_up(self, conn: psycopg.Connection[Any]) -> None:
        incident = self.outbox.incident_id
        while True:
            rows = opsdb.fetch(conn, incident, self.outbox.applied_seq())
            if not rows:
                return
            arrived = self.outbox.apply_remote(rows)
            if arrived:
                with self._lock:
                    self._arrived.extend(arrived)
                    self.arrivals += len(arrived)
            if len(rows) < 2000:
                return
