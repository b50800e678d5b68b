"""ServerLogReader: follows the server's current log file, one window per ``read()``.

It starts at the end of the file current when the first read finds it: history from before
warroom started is not counted, so the first window's rate is not inflated by the past and a
count always means "while warroom watched". Each later read takes what was written since, never
a byte twice, at most ``max_bytes`` per call (the rest is ``behind_bytes``, read next time).

Rotation: when ``current_logfiles`` / ``pg_current_logfile()`` names a new file, or a new file
takes the old one's name, the old one is read to its end (through the descriptor held open)
and the new one from its start. A file shorter than what was read, or whose bytes before our
offset changed (``copytruncate``), is read again from its start. A file renamed away with
nothing in its place is still read through the open descriptor: the server still writes to it.
Two rotations between two reads lose the file between them: a read every few seconds makes
that a non-issue for size or age rotation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from warroom.collectors import pg_queries_serverlog
from warroom.collectors.serverlog.counts import LogCounts, Tally
from warroom.collectors.serverlog.locate import (
    Conn,
    Location,
    current_logfile,
    local_current_logfile,
    locate,
    resolve,
)
from warroom.collectors.serverlog.parse import Parser, complete_end
from warroom.sanitize import one_line

CHUNK = 1 << 20  # one read (file) or one pg_read_binary_file call
MARK = 64  # bytes kept from before the offset (a log line's time and pid differ line to line)
MAX_OLD = 8  # rotated files still to be read; more (rotation far faster than reads) are dropped


class _Tail:
    """One log file being read: where we are in it. Subclasses say how to get bytes."""

    path: str
    offset: int
    mark: bytes = b""  # the bytes just before ``offset``: tells a file rewritten in place

    def size(self) -> int | None:
        raise NotImplementedError

    def read_at(self, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def replaced(self) -> bool:
        return False

    def close(self) -> None:
        return None


class _FileTail(_Tail):
    def __init__(self, path: str, local: Path) -> None:
        self.path = path
        # Kept open: a file renamed away by rotation is still read to its end through it.
        self._fd = os.open(local, os.O_RDONLY)
        self._local = local
        self.offset = 0

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def replaced(self) -> bool:
        try:
            st = os.stat(self._local)
        except OSError:
            # Renamed away with nothing in its place: the server still writes to this file,
            # through the descriptor it holds, as we read it through ours.
            return False
        own = os.fstat(self._fd)
        return (st.st_ino, st.st_dev) != (own.st_ino, own.st_dev)

    def close(self) -> None:
        os.close(self._fd)


class _ServerTail(_Tail):
    """A log file read through the server: pg_ls_logdir() for its size, pg_read_binary_file()
    with an offset and a length for the new bytes only."""

    def __init__(self, conn: Conn, path: str) -> None:
        self._conn = conn
        self.path = path
        self.offset = 0

    def size(self) -> int | None:
        row = self._conn.execute(pg_queries_serverlog.SIZE_SQL, (self.path,)).fetchone()
        return int(row[0]) if row else None

    def read_at(self, offset: int, length: int) -> bytes:
        row = self._conn.execute(pg_queries_serverlog.READ_SQL,
                                 (self.path, offset, length)).fetchone()  # fmt: skip
        return bytes(row[0]) if row and row[0] is not None else b""


class ServerLogReader:
    """Counts what the server's log says, per window; see the package docstring."""

    def __init__(
        self,
        conn: Conn,
        *,
        local_files: bool = True,
        max_bytes: int = 16 * CHUNK,
        top: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = conn
        self._local_files = local_files
        self._max_bytes = max_bytes
        self._clock = clock
        self._tally = Tally(top)
        self._where: Location | None = None
        self._parser: Parser | None = None
        self._tail: _Tail | None = None
        self._old: list[_Tail] = []  # rotated away, still to be read to their end
        self._since = clock()

    @property
    def location(self) -> Location | None:
        return self._where

    def close(self) -> None:
        for tail in [*self._old, *([self._tail] if self._tail else [])]:
            tail.close()
        self._old, self._tail = [], None

    def read(self) -> LogCounts:
        """What was logged since the previous call (the first call starts the window)."""
        now = self._clock()
        try:
            where = self._where or self._locate()
            if where.source is None:
                self._where = None  # asked again next time: a GRANT may come meanwhile
                self._since = now
                return LogCounts(None, where.format, where.path, missing=where.missing,
                                 fix=where.fix)  # fmt: skip
            behind = self._follow(where)
        except (OSError, psycopg.Error) as exc:
            # A file gone, a connection lost: start over from a fresh probe next time.
            self.close()
            self._where = None
            self._since = now
            return LogCounts(None, missing=one_line(f"cannot read the server log: {exc}", 300))
        seconds, self._since = now - self._since, now
        return self._tally.take(source=where.source, format=where.format,
                                path=self._tail.path if self._tail else where.path,
                                seconds=seconds, behind_bytes=behind)  # fmt: skip

    # -- internals --------------------------------------------------------------------------

    def _locate(self) -> Location:
        where = locate(self._conn, local_files=self._local_files)
        if where.source is not None:
            assert where.format is not None
            self._where = where
            self._parser = Parser(where.format, where.line_prefix)
        return where

    def _current_path(self, where: Location) -> str | None:
        assert where.format is not None
        if where.source == "file" and where.data_dir is not None:
            path = local_current_logfile(where.data_dir, where.format)
            if path:
                return path
        return current_logfile(self._conn, where.format, where.listed_in)

    def _open(self, where: Location, path: str) -> _Tail:
        if where.source == "file":
            local = resolve(where.data_dir, path)
            if local is None:
                raise OSError(f"cannot place {path} on this host")
            return _FileTail(path, local)
        return _ServerTail(self._conn, path)

    def _follow(self, where: Location) -> int:
        path = self._current_path(where) or where.path
        assert path is not None
        if self._tail is None:
            self._tail = self._open(where, path)
            size = self._tail.size() or 0  # start at the end: see the docstring
            self._tail.offset = size
            self._tail.mark = self._tail.read_at(max(size - MARK, 0), min(size, MARK))
            return 0
        if path != self._tail.path or self._tail.replaced():
            self._old.append(self._tail)
            while len(self._old) > MAX_OLD:
                self._old.pop(0).close()
            self._tail = self._open(where, path)
        elif self._rewritten(self._tail):
            self._tail.offset, self._tail.mark = 0, b""  # truncated in place: all of it is new
        budget = self._max_bytes
        while self._old and budget > 0:
            budget, done = self._pump(self._old[0], budget)
            if not done:
                break
            self._old.pop(0).close()
        if budget > 0 and not self._old:
            budget, _ = self._pump(self._tail, budget)
        behind = 0
        for tail in [*self._old, self._tail]:
            behind += max((tail.size() or 0) - tail.offset, 0)
        return behind

    @staticmethod
    def _rewritten(tail: _Tail) -> bool:
        """Truncated (shorter than what was read) or truncated and grown again (the bytes
        before our offset are not the ones we read), as ``copytruncate`` leaves a file."""
        size = tail.size()
        if size is not None and size < tail.offset:
            return True
        if not tail.mark:
            return False
        return tail.read_at(tail.offset - len(tail.mark), len(tail.mark)) != tail.mark

    def _pump(self, tail: _Tail, budget: int) -> tuple[int, bool]:
        """Read whole records from ``tail`` within ``budget`` bytes; (budget left, at its end)."""
        assert self._parser is not None
        fmt = self._parser.fmt
        while budget > 0:
            want = min(budget, CHUNK)
            data = tail.read_at(tail.offset, want)
            if not data:
                return budget, True
            end = complete_end(fmt, data)
            if end == 0 and len(data) == want < CHUNK:
                # A budget smaller than the record: take the whole record all the same (the
                # overshoot is below one chunk), or a small budget would never move on.
                want = CHUNK
                data = tail.read_at(tail.offset, want)
                end = complete_end(fmt, data, first=True)
            if end == 0:
                if len(data) < want:
                    return budget, True  # a record still being written: next time
                end = len(data)  # one record longer than a chunk: skipped, not held in memory
            else:
                for event in self._parser.events(data[:end]):
                    self._tally.add(event)
            tail.offset += end
            tail.mark = data[max(end - MARK, 0) : end]
            budget -= end
        return budget, False
