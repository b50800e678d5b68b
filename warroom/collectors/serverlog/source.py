"""ServerLogSource: a ServerLogReader for one server, run so that it never delays its caller.

What ``sample --json`` and the dashboard hold per server. It owns the reader's connection: its
own, named as warroom's connect probe so that the sample counts it no more than the probe (the
collector's connection speaks libpq's wire directly and is locked by the sampler). Each read
runs on one worker thread, waited for at most ``budget`` seconds: a slow disk or a stalled
server gives a line without its counts ("still reading"), never a late line; the read in flight
is not repeated, and its counts come with the next sample (its window is its own, so rates
stay right).

The connection is needed to find the log (the probe) and, for the ``pg_read_file`` source, to
read it. When the log is a file on this host that the server's ``current_logfiles`` names, the
connection is closed after the first read: warroom holds no second slot, and a server that
fills afterwards cannot stop the counting. A server that has no readable log is asked again
every ``retry_s`` (a GRANT or setting may come), with the connection closed in between.

``sample()`` never raises: a failure is data (``source: None`` and the reason).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from warroom.collectors.pg_queries import PROBE_APPLICATION
from warroom.collectors.serverlog.counts import LogCounts
from warroom.collectors.serverlog.kinds import KINDS
from warroom.collectors.serverlog.locate import local_current_logfile
from warroom.collectors.serverlog.reader import CHUNK, ServerLogReader
from warroom.dsn import DsnError
from warroom.dsn import parse as parse_dsn
from warroom.sanitize import one_line

MINUTE_S = 60.0
RETRY_S = 30.0  # a server without a readable log is probed again this often
MAX_BYTES = 4 * CHUNK  # per read: about 20,000 refusal records, a few ms of parsing each MiB


class ServerLogSource:
    """One server's log, read within a budget; see the module docstring."""

    def __init__(
        self,
        dsn: str,
        *,
        budget: float,
        local_files: bool = True,
        connect_timeout: float = 5.0,
        max_bytes: int = MAX_BYTES,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self._local_files = local_files
        self._max_bytes = max_bytes
        self._retry_s = retry_s
        self._clock = clock
        self._conninfo = ""
        self._bad_dsn = ""
        try:
            parse_dsn(dsn)  # libpq's own parse message may quote a password: never shown
            self._conninfo = make_conninfo(
                dsn, application_name=PROBE_APPLICATION,
                connect_timeout=max(int(connect_timeout), 1),
                # A slow pg_read_binary_file is cut by the server, keeping the connection.
                options=f"-c statement_timeout={max(int(budget * 1000), 100)}",
            )  # fmt: skip
        except DsnError as exc:
            self._bad_dsn = one_line(str(exc), 300)
        self._lock = threading.Lock()  # the worker's state against close()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="warroom-serverlog")
        self._pending: Future[LogCounts] | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self._reader: ServerLogReader | None = None
        self._missing: LogCounts | None = None  # the last "no source", until the next probe
        self._probe_due = 0.0
        self._closed = False
        # (monotonic time of a window's end, its totals): the last minute's counts
        self._recent: deque[tuple[float, dict[str, int]]] = deque()

    @classmethod
    def beside(cls, collector: object) -> ServerLogSource | None:
        """One for the server a PostgresCollector samples (its DSN, its budget); None for any
        other source (a recording, a test's fixed samples)."""
        # PostgresCollector keeps the DSN only as its libpq conninfo (application_name included,
        # replaced here); it has no public accessor for it yet.
        conninfo = getattr(collector, "_conninfo", None)
        budget = getattr(collector, "budget", None)
        if not isinstance(conninfo, str) or not conninfo or not isinstance(budget, float | int):
            return None
        return cls(conninfo, budget=float(budget))

    # -- public --------------------------------------------------------------------------

    def sample(self) -> LogCounts:
        """The counts since the previous sample, within ``budget``; never raises."""
        self.start()
        return self.result(self.budget)

    def start(self) -> None:
        """Begin a read (unless one is still running) so it overlaps the caller's own work."""
        if self._pending is None and not self._closed:
            missing = self._missing
            if self._reader is None and missing is not None and self._clock() < self._probe_due:
                # No readable log until the next probe: the answer is known, and waking the
                # worker each second to give it cost both threads a wake-up for nothing.
                self._pending = Future()
                self._pending.set_result(missing)
                return
            try:
                self._pending = self._worker.submit(self._read)
            except RuntimeError:  # closed meanwhile
                self._pending = None

    def result(self, timeout: float) -> LogCounts:
        """The read begun by ``start()``, waited for at most ``timeout`` seconds."""
        pending = self._pending
        if pending is None:
            return LogCounts(None, missing="the server log reader is closed")
        try:
            counts = pending.result(timeout=max(timeout, 0.0))
        except FutureTimeout:
            return LogCounts(None, missing="still reading the server log (a slow disk or "
                             "server); its counts come with a later sample")  # fmt: skip
        except Exception as exc:  # a reader bug is data, never the end of the sampling
            counts = LogCounts(None, missing=one_line(f"server log reader failed: {exc!r}", 300))
        self._pending = None
        return counts

    def last_minute(self) -> dict[str, int]:
        """Each kind's count over the windows that ended in the last minute (0 included)."""
        cutoff = self._clock() - MINUTE_S
        out = dict.fromkeys(KINDS, 0)
        for at, totals in self._recent:
            if at >= cutoff:
                for kind, n in totals.items():
                    out[kind] = out.get(kind, 0) + n
        return out

    def to_json(self, counts: LogCounts) -> dict[str, Any]:
        """The sample line's ``server_log``: the window's counts, and the last minute's."""
        out = counts.to_json()
        if counts.source is not None:
            out["last_minute"] = self.last_minute()
        return out

    def close(self) -> None:
        """Returns at once: a read in flight (a connect to a stalled server) drops the
        connection and the files itself when it ends."""
        self._closed = True
        self._worker.shutdown(wait=False, cancel_futures=True)
        if self._lock.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._lock.release()

    # -- on the worker thread ------------------------------------------------------------

    def _read(self) -> LogCounts:
        with self._lock:
            if self._closed:
                return LogCounts(None, missing="the server log reader is closed")
            try:
                counts = self._read_locked()
            finally:
                if self._closed:  # closed while this read ran: nothing is left open
                    self._drop()
            if counts.source is not None:
                now = self._clock()
                self._recent.append((now, {k: v for k, v in counts.totals.items() if v}))
                while self._recent and self._recent[0][0] < now - MINUTE_S:
                    self._recent.popleft()
            return counts

    def _read_locked(self) -> LogCounts:
        if self._bad_dsn:
            return LogCounts(None, missing=self._bad_dsn)
        if self._reader is None:
            if self._missing is not None and self._clock() < self._probe_due:
                return self._missing
            try:
                self._conn = psycopg.connect(self._conninfo, autocommit=True)
            except psycopg.Error as exc:
                return self._no_source(LogCounts(None, missing=one_line(
                    f"cannot connect to find the server log: {exc}", 300)))  # fmt: skip
            self._reader = ServerLogReader(self._conn, local_files=self._local_files,
                                           max_bytes=self._max_bytes)  # fmt: skip
        counts = self._reader.read()
        if counts.source is None:
            # No readable log, or a lost file or connection: a fresh probe, later.
            self._drop()
            return self._no_source(counts)
        self._missing = None
        where = self._reader.location
        if (counts.source == "file" and self._conn is not None and where is not None
                and where.data_dir is not None and where.format is not None
                and local_current_logfile(where.data_dir, where.format)):  # fmt: skip
            # The reader follows the file by itself from here: give the slot back.
            self._conn.close()
            self._conn = None
        return counts

    def _no_source(self, counts: LogCounts) -> LogCounts:
        self._missing = counts
        self._probe_due = self._clock() + self._retry_s
        return counts

    def _drop(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
