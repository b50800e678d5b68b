"""The durable outbox: events wait here, per destination, until a destination took them.

SQLite from the standard library, WAL with ``synchronous=FULL``: a commit is fsynced before
``add`` returns, so an event counts as queued only once it would survive a power cut. Rows
hold the destination's *name* and the event; never a URL or a header (see config.resolve).

A message is a *batch*: the oldest waiting rows of one destination, frozen under one
idempotency key before the first attempt. A retry (by this process or, after a kill -9, the
next one) sends the same rows under the same key, so a receiver that saw it can drop it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

from warroom.notify.events import Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    event TEXT NOT NULL,
    batch TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_destination ON outbox (destination, seq);
"""


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "warroom"


def default_path() -> Path:
    return state_dir() / "notify-outbox.sqlite3"


class Outbox:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # One connection shared by the threads of a process, one statement at a time.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, rows: Iterable[tuple[str, Event]]) -> int:
        """Queue (destination, event) pairs in one fsynced transaction; how many."""
        values = [(name, json.dumps(ev, separators=(",", ":"))) for name, ev in rows]
        if not values:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO outbox (destination, event) VALUES (?, ?)",
                                     values)  # fmt: skip
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(values)

    def waiting(self) -> dict[str, int]:
        """Destination name -> events waiting for it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT destination, count(*) FROM outbox GROUP BY destination"
            ).fetchall()
        return {str(name): int(n) for name, n in rows}

    def head(self, destination: str, most: int) -> tuple[str, list[Event], int] | None:
        """The next message for ``destination``: (idempotency key, events, attempts so far).

        The message already frozen, if one is (it failed, or its sender died); else the oldest
        ``most`` events, frozen now under a new key (committed before anything is sent).
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                first = self._db.execute(
                    "SELECT batch FROM outbox WHERE destination = ? ORDER BY seq LIMIT 1",
                    (destination,),
                ).fetchone()
                if first is None:
                    self._db.execute("COMMIT")
                    return None
                key = first[0]
                if key is None:
                    key = uuid.uuid4().hex
                    self._db.execute(
                        "UPDATE outbox SET batch = ? WHERE seq IN (SELECT seq FROM outbox "
                        "WHERE destination = ? AND batch IS NULL ORDER BY seq LIMIT ?)",
                        (key, destination, most),
                    )
                rows = self._db.execute(
                    "SELECT event, attempts FROM outbox WHERE batch = ? ORDER BY seq", (key,)
                ).fetchall()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return key, [json.loads(r[0]) for r in rows], max(int(r[1]) for r in rows)

    def done(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE batch = ?", (key,))

    def failed(self, key: str, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, error = ? WHERE batch = ?",
                (error, key),
            )
