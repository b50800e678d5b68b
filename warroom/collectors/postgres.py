"""The PostgreSQL collector: one monitoring connection, a connect probe, typed failures.

``PostgresCollector.sample()`` never raises and always returns within its budget (less than the
interval): an up sample, or a down one saying why. The server is never hammered: a broken
connection is rebuilt with capped exponential backoff, and while backing off a sample answers at
once. Connecting happens on a short-lived background thread so a slow handshake (TLS over a
slow link, a server busy forking backends) can span several samples without any one of them
blocking; the connect probe has its own thread. All waits on sockets carry a deadline, so a
server that stops answering (SIGSTOP, a dead network path) yields a ``timeout``, never a hang.

The class is assembled from one part per job: pg_connection.py (the monitoring connection, its
connect thread and retries), pg_probe.py (the connect probe), pg_derived.py (churn and TPS),
pg_reads.py (replication, settings, pg_stat_statements) and pg_assembly.py (building the
samples); this module keeps the public face and the sample query itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from psycopg import pq
from psycopg.conninfo import make_conninfo

from warroom.collectors import (
    backends,
    backends_explain,
    lock_detail,
    pg_queries,
    pg_wire,
    proctitles,
    statements,
)
from warroom.collectors.downtime import DownTracker, DownWindow
from warroom.collectors.pace import Pace
from warroom.collectors.pg_assembly import SampleAssembly
from warroom.collectors.pg_connection import Connecting, Connector, MonitorSession
from warroom.collectors.pg_probe import ProbeResult, now_utc
from warroom.collectors.pg_reads import ExtraReads
from warroom.collectors.pg_wire import Stopped, WireError
from warroom.collectors.sample import BlockedBackend, Failure, FailureKind, LockRoot, PgSample
from warroom.collectors.server_changes import ServerWatch
from warroom.dsn import DsnError
from warroom.dsn import parse as parse_dsn

APPLICATION = "warroom"
STATEMENTS_EVERY_S = 5.0  # pg_stat_statements snapshots: enough for "the last minute"
# A recorder's frame cancelled by the statement timeout: counts alone this long, doubling
# while frames keep failing (a server too big to list each second pays a cancelled frame's
# time once in five minutes), back to the first pause once one fits.
FRAMES_PAUSE_S = 10.0
FRAMES_PAUSE_MAX_S = 300.0

T = TypeVar("T")


class PostgresCollector(Connecting, ExtraReads, SampleAssembly):
    """Samples one PostgreSQL server. Thread-safe; ``sample()`` never raises."""

    def __init__(
        self,
        dsn: str = "",
        *,
        interval: float = 1.0,
        probe_every: float = 5.0,
        budget: float | None = None,
        connect_timeout: float = 5.0,
        top: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 10.0,
    ) -> None:
        self.interval = interval
        self.budget = budget if budget is not None else 0.8 * interval
        self.pace = Pace(interval)  # how often this server can afford a sample
        self.probe_every = probe_every  # <= 0 disables the connect probe
        self.connect_timeout = connect_timeout
        self.top = top
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # The server cancels a slow statement itself before our client-side deadline fires,
        # which keeps the connection; the deadline is only for a server that cannot answer.
        self._statement_timeout_ms = max(20, int(self.budget * 600))
        self._conninfo = ""
        self._probe_conninfo = ""
        self._dsn_failure: Failure | None = None
        try:
            # libpq parses (keyword DSN or URI); env, .pgpass and services apply at connect.
            # Read by warroom.dsn first: libpq's own parse message may quote the password.
            parse_dsn(dsn)
            self._conninfo = make_conninfo(dsn, application_name=APPLICATION)
            self._probe_conninfo = make_conninfo(
                dsn, application_name=pg_queries.PROBE_APPLICATION
            )
        except DsnError as exc:
            self._dsn_failure = Failure(FailureKind.OTHER, str(exc))

        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._session: MonitorSession | None = None
        self._connector: Connector | None = None
        self._next_attempt = 0.0
        self._failures_in_row = 0
        self._last_failure: Failure | None = None
        self._prev_xacts: tuple[float, int] | None = None
        self._own_statements = 0  # ours since the previous xact reading: not the app's TPS
        self._own_pending = 0  # ours the server has not counted yet
        self._probe_thread: threading.Thread | None = None
        self._probe: ProbeResult | None = None
        self.downtime = DownTracker()
        self.watch = ServerWatch()
        self.statements = statements.StatementWindow()
        self.statements_every = STATEMENTS_EVERY_S  # <= 0 never reads pg_stat_statements
        self._statements_due = 0.0
        self._statements_note: str | None = None
        self._replication_note: str | None = None
        self._limits: pg_queries.Limits | None = None  # the last known, for process titles
        self._local, self._port = proctitles.is_local(self._conninfo)
        self.process_titles = self._local  # count from process titles while refused
        self._postmaster: int | None = None
        # A recorder's frames: each sample also returns every backend, from the same read of
        # pg_stat_activity as its counts (take_backends). That read is most of a sample's
        # server time at scale; a second statement for the list paid it twice.
        self.with_backends = False
        self._backends: list[backends.Backend] | None = None

    # -- public ----------------------------------------------------------------------------

    @property
    def down_since(self) -> datetime | None:
        return self.downtime.down_since

    @property
    def down_windows(self) -> deque[DownWindow]:
        return self.downtime.windows

    @property
    def connected(self) -> bool:
        return self._session is not None

    @property
    def is_local(self) -> bool:
        """The server is on this host (a socket or a loopback address in the DSN)."""
        return self._local

    @property
    def port(self) -> int:
        return self._port

    @property
    def backend_pid(self) -> int | None:
        """The monitoring connection's backend pid (the one excluded from the counts)."""
        session = self._session
        return None if session is None else session.pgconn.backend_pid

    def every(self) -> float:
        """Seconds from one sample's start to the next's (the poller asks after each)."""
        return self.pace.every()

    def sample(self) -> PgSample:
        at = now_utc()
        self._backends = None  # this sample's, or none
        deadline = time.monotonic() + self.budget
        try:
            if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                result = self._down(at, Failure(FailureKind.TIMEOUT, "previous sample still busy"))
            else:
                try:
                    result = self._sample_locked(at, deadline)
                finally:
                    self._lock.release()
        except Exception as exc:  # the contract: never raise into the caller
            result = self._down(at, Failure(FailureKind.OTHER, f"collector error: {exc!r}"))
        self.downtime.track(result)
        return result

    def close(self) -> None:
        """Stop the probe, drop the connection. Returns promptly, even mid-stall."""
        self._closed = True
        self._stop.set()
        connector = self._connector
        if connector is not None:
            connector.abandon()  # wakes a sample() waiting on it
        got = self._lock.acquire(timeout=max(self.budget, 0.2) + 0.5)
        try:
            if self._connector is not None:
                self._connector.abandon()
                self._connector = None
            if self._session is not None:
                self._session.pgconn.finish()
                self._session = None
        finally:
            if got:
                self._lock.release()
        if self._probe_thread is not None:
            self._probe_thread.join(timeout=1.0)

    def take_backends(self) -> list[backends.Backend] | None:
        """Every client backend, from the last sample's own snapshot of pg_stat_activity (set
        ``with_backends`` first); once. None when that sample failed."""
        listed, self._backends = self._backends, None
        return listed

    # -- the backends view: on the held connection, the one a storm cannot take away ------

    def list_backends(self, limit: int | None = 500) -> list[backends.Backend] | Failure:
        """Client backends, longest running first (capped at ``limit``, None: all); or why not."""
        params = [None if limit is None else str(max(limit, 1)).encode()]
        session = self._session
        sql = pg_queries.backends_list_sql(session.version if session else 0)
        return self._run_json(sql.encode(), params, backends.parse_list)

    def signal_backends(
        self,
        *,
        pids: Sequence[int] | None = None,
        application: str | None = None,
        terminate: bool = False,
    ) -> int | Failure:
        """Cancel (or terminate) these pids, or every backend of ``application``.

        Returns how many backends PostgreSQL agreed to signal; a role without the right
        (pg_signal_backend or superuser) gets a typed ``permission`` failure.
        """
        flag = b"true" if terminate else b"false"
        if application is not None:
            return self._run_json(
                pg_queries.BACKENDS_SIGNAL_APP_SQL.encode(), [application.encode(), flag], int
            )
        pid_list = "{" + ",".join(str(int(p)) for p in pids or ()) + "}"
        return self._run_json(
            pg_queries.BACKENDS_SIGNAL_PIDS_SQL.encode(), [pid_list.encode(), flag], int
        )

    def signal_identities(
        self, targets: Sequence[backends.Backend], *, terminate: bool = False
    ) -> backends.Signalled | Failure:
        """Cancel (or terminate) exactly these backends, each named by pid and start: a pid
        reused since the list is not touched; one that ended is reported gone."""
        params = backends.identity_params(targets, terminate)
        return self._run_json(pg_queries.BACKENDS_SIGNAL_IDENTITIES_SQL.encode(), params,
                              backends.parse_signalled)  # fmt: skip

    def lock_detail(
        self, roots: tuple[LockRoot, ...], waiting: tuple[BlockedBackend, ...]
    ) -> tuple[LockRoot, ...] | Failure:
        """The locks ``roots`` hold that ``waiting`` queue for (the sample's lock detail)."""
        return self._run_json(pg_queries.LOCK_DETAIL_SQL.encode(),
                              lock_detail.params(roots, waiting),
                              lambda text: lock_detail.attach(roots, text))  # fmt: skip

    def explain(
        self, query: str, *, truncated: bool = False
    ) -> backends_explain.Plan | backends_explain.Unexplainable | Failure:
        """EXPLAIN (never ANALYZE) of a backend's query on this connection, within its
        statement and lock timeouts; or why it cannot be explained."""
        session = self._session
        if session is None:
            return self._last_failure or Failure(FailureKind.UNREACHABLE, "not connected")
        sql = backends_explain.statement(query, truncated, session.version)
        if isinstance(sql, backends_explain.Unexplainable):
            return sql
        generic = "GENERIC_PLAN" in sql.split("\n", 1)[0]
        return self._run_json(sql.encode(), [],
                              lambda text: backends_explain.parse_plan(text, generic),
                              one_statement=True)  # fmt: skip

    def _run_json(
        self,
        sql: bytes,
        params: list[bytes | None],
        parse: Callable[[str], T],
        *,
        one_statement: bool = False,
    ) -> T | Failure:
        """One statement on the monitoring connection, within the sample budget.

        ``one_statement``: text we did not write (EXPLAIN of a backend's query). A generic plan
        cannot go through Bind (its $1 would be bound), so the text runs as a simple query, but
        only once the server has parsed it as one prepared statement: a second statement after
        a ';' fails that parse and never runs."""
        deadline = time.monotonic() + self.budget
        if not self._lock.acquire(timeout=self.budget):
            return Failure(FailureKind.TIMEOUT, "the monitoring connection is busy")
        try:
            session = self._session
            if session is None or self._closed:
                return self._last_failure or Failure(FailureKind.UNREACHABLE, "not connected")
            try:
                if one_statement:
                    pg_wire.execute(session.pgconn, lambda c: c.send_prepare(b"", sql),
                                    deadline, self._stop)  # fmt: skip
                    send: Callable[[pq.PGconn], None] = lambda c: c.send_query(sql)  # noqa: E731
                else:
                    send = lambda c: c.send_query_params(sql, params)  # noqa: E731
                results = pg_wire.execute(session.pgconn, send, deadline, self._stop)
            except Stopped:
                return Failure(FailureKind.OTHER, "collector closed")
            except WireError as exc:
                if exc.broken:
                    self._drop_session()
                    self._schedule_retry(exc.failure, immediate=True)
                return exc.failure
            self._own_statements += 1
        finally:
            self._lock.release()
        text = pg_wire.value(results[-1])
        if text is None:
            return Failure(FailureKind.OTHER, "empty answer")
        try:
            return parse(text)
        except (ValueError, KeyError, TypeError) as exc:
            return Failure(FailureKind.OTHER, f"unexpected answer: {exc!r}")

    def __enter__(self) -> PostgresCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sampling --------------------------------------------------------------------------

    def _run_sample(
        self, session: MonitorSession, params: list[bytes | None], deadline: float
    ) -> tuple[str, float | None]:
        """The sample statement's JSON text, and for a recorder's frame (``with_backends``)
        the seconds it took from send to answer (None for the counts alone).

        The frame is prepared on its first use, so a dashboard's connection never plans it. A
        frame the server cancels for taking longer than the statement timeout (its list grows
        with the square of the backends) must not cost the counts: they are asked for alone at
        once, and frames pause (``FRAMES_PAUSE_S``, doubling while they keep failing)."""
        frame = self.with_backends and time.monotonic() >= session.frames_after
        if frame and not session.frame_prepared:
            sql = pg_queries.prepare_sample_sql(session.version, with_backends=True).encode()
            pg_wire.execute(session.pgconn, lambda c: c.send_query(sql), deadline, self._stop)
            self._own_statements += 1
            session.frame_prepared = True
        name = (pg_queries.FRAME if frame else pg_queries.SAMPLE).encode()
        started = time.monotonic()
        self._own_statements += 1
        try:
            results = pg_wire.execute(session.pgconn,
                                      lambda c: c.send_query_prepared(name, params),
                                      deadline, self._stop)  # fmt: skip
        except WireError as exc:
            if not frame or exc.broken or exc.failure.sqlstate != "57014":
                raise
            session.frames_failed += 1
            pause = FRAMES_PAUSE_S * 2 ** (session.frames_failed - 1)
            session.frames_after = time.monotonic() + min(pause, FRAMES_PAUSE_MAX_S)
            if deadline - time.monotonic() < (time.monotonic() - started) / 2:
                raise  # no time left for the counts either: this sample says why
            return self._run_sample(session, params, deadline)
        text = pg_wire.value(results[-1])
        if text is None:
            raise ValueError("empty answer to the sample query")
        if frame:
            session.frames_failed = 0
        return text, time.monotonic() - started if frame else None

    def _sample_locked(self, at: datetime, deadline: float) -> PgSample:
        if self._closed:
            return self._down(at, Failure(FailureKind.OTHER, "collector closed"))
        if self._dsn_failure is not None:
            return self._down(at, self._dsn_failure)
        self._ensure_probe()
        if self._session is None:
            failure = self._advance_connect(deadline)
            if failure is not None:
                return self._down(at, failure)
            if deadline - time.monotonic() < self.budget / 2:
                # A slow handshake used up this sample's time; querying now could miss the
                # deadline and throw the fresh connection away. The next sample uses it.
                return self._down(at, self._last_failure or Failure(
                    FailureKind.TIMEOUT, "connected late in this sample; data on the next one"
                ))
        session = self._session
        assert session is not None
        try:
            t0 = time.perf_counter()
            pg_wire.execute(
                session.pgconn, lambda c: c.send_query_prepared(pg_queries.PING.encode(), None),
                deadline, self._stop,
            )  # fmt: skip
            query_ms = (time.perf_counter() - t0) * 1000.0
            top = str(self.top).encode()
            since = None if session.server_now is None else repr(session.server_now).encode()
            self._own_statements += 1  # the ping
            text, frame_s = self._run_sample(session, [top, since], deadline)
            answer = json.loads(text)
            listed = answer.pop("backends", None)
            agg = pg_queries.parse_sample(answer, session.limits)
            cost = agg.server_s
            if listed is not None and frame_s is not None:
                self._backends = backends.parse_rows(listed)
                # The statement's own clock stops before the server has written and sent the
                # rows (megabytes at 10,000 backends): a frame's pace counts them, timed here,
                # so a far server's network counts too and the pace errs toward sampling less.
                cost = max(cost or 0.0, frame_s)
            if agg.roots and deadline - time.monotonic() > self.budget / 4:
                # Which locks the roots hold: pg_locks is read only while sessions wait.
                held = self._optional(session, pg_queries.LOCK_DETAIL_SQL,
                                      lock_detail.params(agg.roots, agg.blocked), deadline,
                                      note=False)  # fmt: skip
                agg = replace(agg, roots=lock_detail.attach(agg.roots, held))
            repl = self._read_replication(session, deadline, time.perf_counter() - t0,
                                          agg.in_recovery)
            settings = None
            if self.watch.wants_settings(agg.started, agg.conf_loaded):
                settings = self._read_settings(session, deadline)
            self._read_statements(session, deadline)
        except Stopped:
            return self._down(at, Failure(FailureKind.OTHER, "collector closed"))
        except WireError as exc:
            if exc.broken:
                self._drop_session()
                self._schedule_retry(exc.failure, immediate=True)
            return self._down(at, exc.failure)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            return self._down(at, Failure(FailureKind.OTHER, f"unexpected answer: {exc!r}"))
        self._last_failure = None
        self.pace.record(cost)  # before the sample says the cadence it sets
        return self._up(at, session, query_ms, agg, settings, repl)
