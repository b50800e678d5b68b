"""The recorder's SQLite file: frames as keyframes plus deltas, retention by age and size.

Layout (one row per frame in ``frames``): a frame's figures are its sample's JSON, zlib'd. Its
backends are either a **keyframe** (every row; ``key`` = its own id) or a **delta** on the
keyframe ``key`` names (the rows that changed or appeared since the previous frame, and the
keys of those gone). A backend unchanged since the previous frame costs nothing in a delta; a
keyframe (every ``key_every`` frames, 30 by default: half a minute at 1 s) bounds what a seek
reads. bench/bench_recorder.py at 500 backends: every 30, seek p95 27 ms over 48 h; every 60,
77 ms over 6 h and 200 ms over 48 h, for the same bytes per hour within 2 %.
``backends`` NULL means they were not known then (the server was down or did not answer).

Why not a row per backend version: at 500 backends with half changing each second that is
900,000 rows an hour, ~60 bytes each with their indexes, before the query text; a zlib'd delta
of the same changes is a fraction of it (bench/bench_recorder.py prints the figure).

Seek: the newest frame at or before the moment (index ``frames_at``), then its group's frames
from the keyframe on (a rowid range): at most ``key_every`` small blobs. Retention deletes whole
groups, oldest first, so every kept delta keeps its keyframe. Each frame is one transaction in
WAL mode: a kill -9 loses at most the frame being written. The first frame of each server after
opening (and after any failed write) is a keyframe, so a restart never builds on a lost frame.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warroom.recording.delta import Deltas
from warroom.recording.delta import pack as _pack
from warroom.recording.delta import unpack as _unpack
from warroom.recording.frame import BackendRow, Frame
from warroom.recording.retention import Retention

SCHEMA_VERSION = "1"
KEY_EVERY = 30
CHECK_EVERY = 60  # frames between two retention checks while recording

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS servers (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS frames (
  id INTEGER PRIMARY KEY,
  server INTEGER NOT NULL REFERENCES servers (id),
  at REAL NOT NULL,          -- epoch seconds, the sample's time
  key INTEGER NOT NULL,      -- the keyframe this frame's backends build on (its own id if one)
  status TEXT NOT NULL,
  figures BLOB NOT NULL,     -- zlib(JSON): the sample's object, as `warroom sample --json`
  backends BLOB              -- zlib(JSON): {"k": rows} | {"c": rows, "g": keys}; NULL: unknown
);
CREATE INDEX IF NOT EXISTS frames_at ON frames (server, at);
CREATE TABLE IF NOT EXISTS rollups (
  server INTEGER NOT NULL REFERENCES servers (id),
  at REAL NOT NULL,          -- the rollup's start, epoch seconds
  body TEXT NOT NULL,        -- one [[samples]] block, as the session file writes it
  PRIMARY KEY (server, at)
) WITHOUT ROWID;
"""


class StoreError(Exception):
    """The file is not a recorder store (or a newer one); one line."""


def _private(path: Path) -> None:
    """Frames hold query texts, users and addresses: the file (and the WAL and shared-memory
    files SQLite gives the same mode) is its owner's only, like the session files."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _moment(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


class FrameStore:
    """One store file. Writes come from one thread (the recorder's); readers open their own."""

    def __init__(
        self,
        path: Path,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        key_every: int = KEY_EVERY,
        readonly: bool = False,
    ) -> None:
        self.path = path
        self.retention = retention or Retention()
        self.clock = clock
        self.key_every = key_every
        if readonly:
            if not path.is_file():
                raise StoreError(f"{path}: no such recorder store")
            uri = f"file:{path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
        else:
            _private(path)
            self._db = sqlite3.connect(path, isolation_level=None)
        try:
            self._setup(readonly)
        except sqlite3.OperationalError:  # a full disk, a locked or unwritable file: not its form
            self._db.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{path}: not a recorder store ({exc})") from None
        self._server_ids: dict[str, int] = {}
        self._deltas = Deltas(key_every)
        self._appended = 0

    def _setup(self, readonly: bool) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 5000")
        if not readonly:
            # Before the first table: a new file frees pages back to the disk as retention
            # deletes (incremental_vacuum below), so the file's size follows the limit.
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a process crash loses nothing
            # One transaction: a reader sees no tables or all of them, never half a schema.
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";\n"):
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
        elif not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
            raise sqlite3.DatabaseError("no recorder tables (yet)")
        row = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema {row[0] if row else 'missing'}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FrameStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def _server_id(self, name: str) -> int:
        found = self._server_ids.get(name)
        if found is None:
            self._db.execute("INSERT OR IGNORE INTO servers (name) VALUES (?)", (name,))
            row = self._db.execute("SELECT id FROM servers WHERE name = ?", (name,)).fetchone()
            found = self._server_ids[name] = int(row[0])
        return found

    def append(self, frame: Frame) -> None:
        """Stores one frame (one transaction). On failure the next frame is a keyframe."""
        try:
            self._append(frame)
        except BaseException:
            self.forget()
            if self._db.in_transaction:
                self._db.rollback()
            raise
        self._appended += 1
        if self._appended % CHECK_EVERY == 0:
            self.enforce()

    def forget(self) -> None:
        """Drops what the next delta would build on: the next frame of each server is a key."""
        self._deltas.forget()

    def _append(self, frame: Frame) -> None:
        db = self._db
        server = self._server_id(frame.server)
        figures = _pack(frame.figures)
        db.execute("BEGIN IMMEDIATE")
        (last,) = db.execute("SELECT coalesce(max(id), 0) FROM frames").fetchone()
        frame_id = int(last) + 1
        encoded = self._deltas.encode(server, frame.backends)
        key = frame_id if encoded.key is None else encoded.key
        db.execute(
            "INSERT INTO frames (id, server, at, key, status, figures, backends)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (frame_id, server, frame.at.timestamp(), key, frame.status, figures, encoded.blob),
        )
        db.execute("COMMIT")
        self._deltas.stored(encoded, key)

    def add_rollup(self, server: str, at: datetime, body: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO rollups (server, at, body) VALUES (?, ?, ?)",
            (self._server_id(server), at.timestamp(), body),
        )

    # -- retention -----------------------------------------------------------------------------

    def used_bytes(self) -> int:
        """Pages in use (the freed ones are handed back by incremental vacuum)."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self._db.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def enforce(self) -> None:
        """Drops whole groups older than the age limit, then the oldest until under the size."""
        db = self._db
        cutoff = self.clock() - self.retention.max_age_s
        for (server,) in db.execute("SELECT id FROM servers").fetchall():
            # The newest keyframe at or before the cutoff: everything before it goes (its group
            # stays, so a seek to the cutoff still finds its keyframe).
            row = db.execute(
                "SELECT max(id) FROM frames WHERE server = ? AND at <= ? AND key = id",
                (server, cutoff),
            ).fetchone()
            if row[0] is not None:
                db.execute("DELETE FROM frames WHERE server = ? AND key < ?", (server, row[0]))
        db.execute("DELETE FROM rollups WHERE at < ?", (cutoff,))
        for _ in range(20):  # each pass aims at the whole excess; a few are ever needed
            used = self.used_bytes()
            if used <= self.retention.max_bytes:
                break
            (count,) = db.execute("SELECT count(*) FROM frames").fetchone()
            if count <= 1:
                break
            share = (used - self.retention.max_bytes * 0.9) / used
            skip = min(count - 1, max(1, math.ceil(count * share)))
            (edge,) = db.execute(
                "SELECT id FROM frames ORDER BY id LIMIT 1 OFFSET ?", (skip,)
            ).fetchone()
            db.execute("DELETE FROM frames WHERE key < ?", (edge,))
            (oldest,) = db.execute("SELECT min(at) FROM frames").fetchone()
            if oldest is not None:
                db.execute("DELETE FROM rollups WHERE at < ?", (oldest,))
            db.execute("PRAGMA incremental_vacuum")
        db.execute("PRAGMA incremental_vacuum")

    # -- reading -------------------------------------------------------------------------------

    def servers(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM servers ORDER BY id")]

    def _known(self, server: str) -> int | None:
        row = self._db.execute("SELECT id FROM servers WHERE name = ?", (server,)).fetchone()
        return None if row is None else int(row[0])

    def span(self, server: str) -> tuple[datetime, datetime] | None:
        """The first and last moment kept for ``server``."""
        sid = self._known(server)
        if sid is None:
            return None
        low, high = self._db.execute(
            "SELECT min(at), max(at) FROM frames WHERE server = ?", (sid,)
        ).fetchone()
        return None if low is None else (_moment(low), _moment(high))

    def state_at(self, server: str, at: datetime) -> Frame | None:
        """The frame in force at ``at`` (the newest at or before it), backends rebuilt."""
        sid = self._known(server)
        if sid is None:
            return None
        row = self._db.execute(
            "SELECT id, key, at, status, figures, backends FROM frames"
            " WHERE server = ? AND at <= ? ORDER BY at DESC LIMIT 1",
            (sid, at.timestamp()),
        ).fetchone()
        if row is None:
            return None
        frame_id, key, moment, status, figures, blob = row
        rows: Raw | None = None
        if blob is not None:
            rows = {}
            for (part,) in self._db.execute(
                "SELECT backends FROM frames WHERE id BETWEEN ? AND ? AND key = ?"
                " AND server = ? ORDER BY id",
                (key, frame_id, key, sid),
            ):
                _apply(rows, _unpack(part))
        return _frame(server, moment, status, figures, rows)

    def frames(self, server: str, since: datetime, until: datetime) -> Iterator[Frame]:
        """Every frame from the one in force at ``since`` through ``until``, in order."""
        first = self.state_at(server, since)
        sid = self._known(server)
        if first is None or sid is None:
            return
        yield first
        rows: Raw | None = (
            None if first.backends is None else {r.key: r.to_list() for r in first.backends}
        )
        cursor = self._db.execute(
            "SELECT key, id, at, status, figures, backends FROM frames"
            " WHERE server = ? AND at > ? AND at <= ? ORDER BY id",
            (sid, first.at.timestamp(), until.timestamp()),
        )
        for key, frame_id, moment, status, figures, blob in cursor:
            if blob is None:
                rows = None
            else:
                if key == frame_id or rows is None:
                    rows = {}
                _apply(rows, _unpack(blob))
            yield _frame(server, moment, status, figures, rows)

    def rollups(self, server: str, since: datetime, until: datetime) -> list[tuple[float, str]]:
        """The stored rollups (start, [[samples]] block) that start in [since, until)."""
        sid = self._known(server)
        if sid is None:
            return []
        return list(self._db.execute(
            "SELECT at, body FROM rollups WHERE server = ? AND at >= ? AND at < ? ORDER BY at",
            (sid, since.timestamp(), until.timestamp()),
        ))  # fmt: skip

    # -- copying -------------------------------------------------------------------------------

    def export(self, target: FrameStore, server: str, since: datetime, until: datetime) -> int:
        """Copies the frames of ``server`` in force from ``since`` through ``until`` (and its
        rollups then) into ``target``; returns how many frames. The copy is self-contained: it
        starts at the keyframe the first frame builds on. Rows keep their ids."""
        sid = self._known(server)
        if sid is None:
            return 0
        db = self._db
        first = db.execute(
            "SELECT key FROM frames WHERE server = ? AND at <= ? ORDER BY at DESC LIMIT 1",
            (sid, since.timestamp()),
        ).fetchone() or db.execute(  # nothing before: the span starts at its first frame
            "SELECT min(id) FROM frames WHERE server = ?", (sid,)
        ).fetchone()
        if first[0] is None:
            return 0
        frames = db.execute(
            "SELECT * FROM frames WHERE server = ? AND id >= ? AND at <= ? ORDER BY id",
            (sid, first[0], until.timestamp()),
        ).fetchall()
        rollups = db.execute(
            "SELECT * FROM rollups WHERE server = ? AND at >= ? AND at <= ?",
            (sid, since.timestamp(), until.timestamp()),
        ).fetchall()
        target.take(sid, server, frames, rollups)
        return len(frames)

    def take(self, sid: int, server: str, frames: Sequence[Sequence[Any]],
             rollups: Sequence[Sequence[Any]]) -> None:  # fmt: skip
        """Stores an export's rows as they are (one transaction): frames as (id, server, at,
        key, status, figures, backends), rollups as (server, at, body); ``sid`` is the
        server's id in them."""
        out = self._db
        out.execute("BEGIN IMMEDIATE")
        try:
            out.execute("INSERT OR IGNORE INTO servers VALUES (?, ?)", (sid, server))
            out.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?)", frames)
            out.executemany("INSERT INTO rollups VALUES (?, ?, ?)", rollups)
            out.execute("COMMIT")
        finally:
            if out.in_transaction:
                out.rollback()


Raw = dict[tuple[int, float | None], list[Any]]  # rows as stored, by (pid, backend start)


def _apply(rows: Raw, part: dict[str, Any]) -> None:
    """One stored backends blob on the rows before it. Rows stay lists here: a seek applies up
    to ``key_every`` deltas, and only the rows left at the end become ``BackendRow``s."""
    if "k" in part:
        rows.clear()
    for pid, start in part.get("g", ()):
        rows.pop((pid, start), None)
    for values in part.get("k") or part.get("c", ()):
        rows[(values[0], values[1])] = values


def _frame(server: str, at: float, status: str, figures: bytes, rows: Raw | None) -> Frame:
    backends = None if rows is None else tuple(BackendRow.from_list(v) for v in rows.values())
    return Frame(server, _moment(at), status, _unpack(figures), backends)
