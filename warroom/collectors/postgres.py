"""The PostgreSQL collector: one monitoring connection, a connect probe, typed failures.

``PostgresCollector.sample()`` never raises and always returns within its budget (less than the
interval): an up sample, or a down one saying why. The server is never hammered: a broken
connection is rebuilt with capped exponential backoff, and while backing off a sample answers at
once. Connecting happens on a short-lived background thread so a slow handshake (TLS over a
slow link, a server busy forking backends) can span several samples without any one of them
blocking; the connect probe has its own thread. All waits on sockets carry a deadline, so a
server that stops answering (SIGSTOP, a dead network path) yields a ``timeout``, never a hang.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

import psutil
from psycopg import pq
from psycopg.conninfo import make_conninfo

from warroom.collectors import (
    backends,
    lock_detail,
    pg_queries,
    pg_wire,
    proctitles,
    replication,
    statements,
)
from warroom.collectors.downtime import DownTracker, DownWindow
from warroom.collectors.pg_wire import Stopped, WireError
from warroom.collectors.sample import (
    Churn,
    Connections,
    Failure,
    FailureKind,
    PgSample,
    Replication,
)
from warroom.collectors.server_changes import ServerWatch, Settings
from warroom.dsn import DsnError
from warroom.dsn import parse as parse_dsn

APPLICATION = "warroom"
STATEMENTS_EVERY_S = 5.0  # pg_stat_statements snapshots: enough for "the last minute"
# A refused connect is retried at once, a few tens of ms apart: in a churning storm a slot is
# free for moments only, and the one we catch is then held for good.
REFUSED_RETRY_S = (0.02, 0.08)
_REFUSALS = frozenset({FailureKind.TOO_MANY_CONNECTIONS})

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _parent_pid(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid() or None
    except psutil.Error:
        return None


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    at: datetime
    connect_ms: float | None
    failure: Failure | None


@dataclass(slots=True)
class _Session:
    pgconn: pq.PGconn
    limits: pg_queries.Limits
    version: int
    server_now: float | None = None  # the server's clock at the previous sample
    sessions: tuple[int, int, int, int] | None = None  # pg_stat_database counters then
    # New sessions seen connected before the server's counter had them (a backend adds itself
    # to pg_stat_database.sessions when it first reports its statistics, not at its fork):
    # taken off the next interval's count, so a pool warming up is never churn.
    sessions_owed: int = 0
    statements_schema: str | None = None  # where pg_stat_statements lives, once checked
    statements_checked: bool = False
    replication_prepared: bool = False
    # Why this connection no longer asks for replication (the server refused the statement:
    # a revoked function, a fork without one of the views). Asking again every sample would
    # only fill the server's log with the same ERROR; a new connection asks again.
    replication_refused: Failure | None = None


class _Connector:
    """One connection attempt (connect + setup) on its own thread, bounded by ``timeout``."""

    def __init__(self, conninfo: str, timeout: float, statement_timeout_ms: int) -> None:
        self.done = threading.Event()
        self.session: _Session | None = None
        self.failure: Failure | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = False
        self._args = (conninfo, timeout, statement_timeout_ms)
        threading.Thread(target=self._run, name="warroom-pg-connect", daemon=True).start()

    def _run(self) -> None:
        conninfo, timeout, st_ms = self._args
        deadline = time.monotonic() + timeout
        session: _Session | None = None
        failure: Failure | None = None
        try:
            pgconn = pg_wire.connect(conninfo, deadline, self._stop)
            try:
                session = _setup(pgconn, deadline, self._stop, st_ms)
            except BaseException:
                pgconn.finish()
                raise
        except WireError as exc:
            failure = exc.failure
        except Stopped:
            failure = Failure(FailureKind.OTHER, "collector closed")
        except Exception as exc:  # never let a thread die silently: this becomes a down sample
            failure = Failure(FailureKind.OTHER, f"connect failed: {exc!r}")
        with self._lock:
            if self._abandoned and session is not None:
                session.pgconn.finish()
                session = None
            self.session, self.failure = session, failure
            self.done.set()

    def abandon(self) -> None:
        """Stop waiting; whatever the thread gets is closed, not leaked."""
        self._stop.set()
        with self._lock:
            self._abandoned = True
            if self.session is not None:
                self.session.pgconn.finish()
                self.session = None


def _setup(
    pgconn: pq.PGconn, deadline: float, stop: threading.Event, statement_timeout_ms: int
) -> _Session:
    version = pgconn.server_version
    sql = pg_queries.setup_sql(version, statement_timeout_ms).encode()
    results = pg_wire.execute(pgconn, lambda c: c.send_query(sql), deadline, stop)
    first = results[0]
    row = [pg_wire.value(first, 0, i) for i in range(3)]
    return _Session(pgconn, pg_queries.parse_limits(row), version)


class PostgresCollector:
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
        self._session: _Session | None = None
        self._connector: _Connector | None = None
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

    def sample(self) -> PgSample:
        at = _now()
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

    # -- the backends view: on the held connection, the one a storm cannot take away ------

    def list_backends(self, limit: int = 500) -> list[backends.Backend] | Failure:
        """Client backends, longest running first (capped at ``limit``); or why not."""
        params = [str(max(limit, 1)).encode()]
        return self._run_json(backends.LIST_SQL.encode(), params, backends.parse_list)

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
                backends.SIGNAL_APP_SQL.encode(), [application.encode(), flag], int
            )
        pid_list = "{" + ",".join(str(int(p)) for p in pids or ()) + "}"
        return self._run_json(backends.SIGNAL_PIDS_SQL.encode(), [pid_list.encode(), flag], int)

    def _run_json(
        self, sql: bytes, params: list[bytes | None], parse: Callable[[str], T]
    ) -> T | Failure:
        """One statement on the monitoring connection, within the sample budget."""
        deadline = time.monotonic() + self.budget
        if not self._lock.acquire(timeout=self.budget):
            return Failure(FailureKind.TIMEOUT, "the monitoring connection is busy")
        try:
            session = self._session
            if session is None or self._closed:
                return self._last_failure or Failure(FailureKind.UNREACHABLE, "not connected")
            try:
                results = pg_wire.execute(
                    session.pgconn, lambda c: c.send_query_params(sql, params),
                    deadline, self._stop,
                )  # fmt: skip
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
            results = pg_wire.execute(
                session.pgconn,
                lambda c: c.send_query_prepared(pg_queries.SAMPLE.encode(), [top, since]),
                deadline, self._stop,
            )  # fmt: skip
            self._own_statements += 2
            text = pg_wire.value(results[-1])
            if text is None:
                raise ValueError("empty answer to the sample query")
            agg = pg_queries.parse_sample(text, session.limits)
            if agg.roots and deadline - time.monotonic() > self.budget / 4:
                # Which locks the roots hold: pg_locks is read only while sessions wait.
                held = self._optional(session, lock_detail.SQL,
                                      lock_detail.params(agg.roots, agg.blocked), deadline,
                                      note=False)  # fmt: skip
                agg = replace(agg, roots=lock_detail.attach(agg.roots, held))
            repl = self._read_replication(session, deadline, time.perf_counter() - t0)
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
        return self._up(at, session, query_ms, agg, settings, repl)

    def _advance_connect(self, deadline: float) -> Failure | None:
        """Connect (or keep connecting) until ``deadline``; None once the session is ready.

        A refusal for lack of slots is retried at once, with a short jittered pause, for as
        long as this sample's time allows (keeping some for the process-title count).
        """
        stop_at = deadline - (self.budget * 0.25 if self.process_titles else 0.0)
        while True:
            if self._connector is None:
                if time.monotonic() < self._next_attempt:
                    return self._last_failure or Failure(FailureKind.UNREACHABLE, "not connected")
                self._connector = _Connector(
                    self._conninfo, self.connect_timeout, self._statement_timeout_ms
                )
            connector = self._connector
            if not connector.done.wait(max(0.0, deadline - time.monotonic())):
                return self._last_failure or Failure(
                    FailureKind.TIMEOUT, "connecting: the server has not answered yet"
                )
            self._connector = None
            if connector.session is not None:
                break
            failure = connector.failure or Failure(FailureKind.OTHER, "connect failed")
            pause = random.uniform(*REFUSED_RETRY_S)
            if failure.kind in _REFUSALS and time.monotonic() + pause < stop_at - 0.05:
                self._last_failure = failure
                if self._stop.wait(pause):
                    return failure
                continue
            if failure.kind in _REFUSALS:
                self._schedule_retry(failure, immediate=True)  # the next sample tries again
            else:
                self._schedule_retry(failure, immediate=False)
            return failure
        self._session = connector.session
        self._limits = connector.session.limits
        self._failures_in_row = 0
        self._prev_xacts = None
        self._own_statements = 0
        self._own_pending = 0
        if self._local:
            self._postmaster = _parent_pid(connector.session.pgconn.backend_pid)
        return None

    def _schedule_retry(self, failure: Failure, *, immediate: bool) -> None:
        """Capped exponential backoff with jitter; a just-lost connection retries at once."""
        self._last_failure = failure
        if immediate:
            self._next_attempt = 0.0
            return
        delay = min(self.backoff_max, self.backoff_base * 2**self._failures_in_row)
        self._failures_in_row += 1
        self._next_attempt = time.monotonic() + delay * random.uniform(0.8, 1.0)

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.pgconn.finish()
            self._session = None

    # -- building samples ------------------------------------------------------------------

    def _probe_fields(self) -> tuple[float | None, Failure | None]:
        probe = self._probe
        if probe is None:
            return None, None
        return probe.connect_ms, probe.failure

    def _down(self, at: datetime, failure: Failure) -> PgSample:
        connect_ms, probe_error = self._probe_fields()
        session = self._session
        conns = None
        if self.process_titles and failure.kind in _REFUSALS:
            conns = self._count_titles()
        return PgSample(
            at=at, status="down", error=failure, connect_ms=connect_ms, probe_error=probe_error,
            server_version=None if session is None else session.version,
            connections=conns,
            connections_source="server" if conns is None else "process_titles",
        )  # fmt: skip

    def _count_titles(self) -> Connections | None:
        """Who holds the server, from its process titles: no slot needed, on its host only."""
        try:
            if self._postmaster is None or not psutil.pid_exists(self._postmaster):
                self._postmaster = proctitles.find_postmaster(self._port)
            if self._postmaster is None:
                return None
            found = proctitles.backends(self._postmaster)
        except (psutil.Error, OSError):
            return None
        limits = self._limits
        return proctitles.count(
            found,
            max_connections=None if limits is None else limits.max_connections,
            reserved=0 if limits is None else limits.reserved,
            top=self.top,
            clients_each=pg_queries.GROUP_CLIENTS,
        )

    def _up(
        self,
        at: datetime,
        session: _Session,
        query_ms: float,
        agg: pg_queries.Aggregate,
        settings: Settings | None,
        repl: Replication | None = None,
    ) -> PgSample:
        connect_ms, probe_error = self._probe_fields()
        churn = self._churn(session, agg)
        changes = self.watch.update(at, agg.started, agg.conf_loaded, agg.in_recovery, settings)
        return PgSample(
            waits=agg.waits,
            idle_tx_apps=agg.idle_tx_apps,
            lock_roots=agg.roots,
            churn=churn,
            statements=self.statements.top(),
            statements_note=self._statements_note,
            server_started_at=None if agg.started is None else _utc(agg.started),
            conf_loaded_at=None if agg.conf_loaded is None else _utc(agg.conf_loaded),
            in_recovery=agg.in_recovery,
            changes=changes,
            at=at,
            status="up",
            connections=agg.connections,
            query_ms=query_ms,
            connect_ms=connect_ms,
            probe_error=probe_error,
            tps=self._tps(agg.xacts, at.timestamp()),
            oldest_xact_s=agg.oldest_xact_s,
            oldest_idle_xact_s=agg.oldest_idle_xact_s,
            longest_query=agg.longest_query,
            blocked=agg.blocked,
            server_version=session.version,
            replication=repl,
            replication_note=self._replication_note,
        )

    def _churn(self, session: _Session, agg: pg_queries.Aggregate) -> Churn | None:
        prev_now, session.server_now = session.server_now, agg.server_now
        prev, session.sessions = session.sessions, agg.sessions
        if prev_now is None or agg.server_now is None or agg.server_now <= prev_now:
            return None
        interval = agg.server_now - prev_now
        if agg.sessions is not None and prev is not None:
            d = [max(n - p, 0) for n, p in zip(agg.sessions, prev, strict=True)]
            # Came and went: the new sessions less those of them still connected. Not less the
            # growth in connections: a deploy replaces a pool's sessions and grows nothing.
            went = d[0] - (agg.new_total or 0) - session.sessions_owed
            session.sessions_owed = max(-went, 0)
            return Churn(interval, d[0], d[1], d[2], d[3], agg.new_apps, "sessions",
                         max(went, 0), agg.new_groups)  # fmt: skip
        return Churn(interval, agg.new_total, new_by_application=agg.new_apps,
                     source="backend_start", new_by_group=agg.new_groups)  # fmt: skip

    def _read_replication(
        self, session: _Session, deadline: float, spent: float
    ) -> Replication | None:
        """Where the server stands in replication: one prepared statement, or None and why.

        Prepared on first use, not in the connection's setup: a server that cannot plan it
        must cost only these figures, never the monitoring connection. ``spent`` is what the
        ping and the sample query just took: this read costs less than they did.
        """
        if session.replication_refused is not None:
            return None
        if deadline - time.monotonic() < max(2 * spent, 0.01):
            # A server this slow could keep us past the deadline, and a missed deadline
            # drops the connection, the one a storm would not give back. Time spent
            # connecting does not count: that says nothing about how fast the server answers.
            self._replication_note = "replication not read: the server answered slowly"
            return None
        try:
            if not session.replication_prepared:
                sql = replication.prepare_sql(session.version).encode()
                self._own_statements += 1
                pg_wire.execute(session.pgconn, lambda c: c.send_query(sql), deadline, self._stop)
                session.replication_prepared = True
            name = replication.REPLICATION.encode()
            self._own_statements += 1
            results = pg_wire.execute(
                session.pgconn, lambda c: c.send_query_prepared(name, None), deadline, self._stop
            )
            text = pg_wire.value(results[-1])
            if text is None:
                raise ValueError("empty answer to the replication query")
            repl = replication.parse(text)
        except WireError as exc:
            if exc.broken:
                raise
            # Cancelled by statement_timeout (a busy moment): the next sample tries again.
            if exc.failure.sqlstate != "57014":
                session.replication_refused = exc.failure
            self._replication_note = f"replication: {exc.failure.message}"[:200]
            return None
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self._replication_note = f"replication: unexpected answer: {exc!r}"[:200]
            return None
        self._replication_note = None
        return repl

    def _read_settings(self, session: _Session, deadline: float) -> Settings | None:
        text = self._optional(session, pg_queries.SETTINGS_SQL, None, deadline, note=False)
        if text is None:
            return None
        raw = json.loads(text)
        return {str(k): (None if v[0] is None else str(v[0]), bool(v[1])) for k, v in raw.items()}

    def _read_statements(self, session: _Session, deadline: float) -> None:
        """A pg_stat_statements snapshot every few seconds, if it is there and time allows."""
        now = time.monotonic()
        if self.statements_every <= 0 or now < self._statements_due:
            return
        if deadline - now < self.budget / 2:
            # This sample is late already; the next one reads it. Half the budget leaves the
            # server's statement_timeout (0.6 of the budget) room to cancel a slow read before
            # our own deadline would have to drop the connection.
            return
        self._statements_due = now + self.statements_every
        if not session.statements_checked:
            session.statements_checked = True
            found = self._optional(session, statements.CHECK_SQL, None, deadline)
            if found is None:
                self._statements_note = "pg_stat_statements is not installed (CREATE EXTENSION)"
                return
            _version, schema, preload = json.loads(found)
            if preload is not None and "pg_stat_statements" not in str(preload):
                self._statements_note = (
                    "pg_stat_statements is not in shared_preload_libraries"
                )
                return
            session.statements_schema = str(schema)
        schema = session.statements_schema
        if schema is None:
            return
        text = self._optional(
            session, statements.numbers_sql(session.version, schema), None, deadline
        )
        if text is None:
            return
        self.statements.add(time.monotonic(), statements.parse_numbers(text))
        # Texts for the top ones we do not know; our own statements found this way drop out
        # of the ranking, so look twice.
        for _ in range(2):
            top_ids = [row[0] for row in self.statements.deltas()]
            missing = self.statements.missing_texts(top_ids)
            if not missing:
                break
            ids = ("{" + ",".join(str(q) for q in missing) + "}").encode()
            texts = self._optional(session, statements.texts_sql(schema), [ids], deadline)
            if texts is None:
                break
            learned = statements.parse_texts(texts)
            # A statement evicted since the snapshot has no text any more: do not ask again.
            learned.update({q: f"queryid {q}" for q in missing if q not in learned})
            self.statements.learn_texts(learned)
        self._statements_note = None

    def _optional(
        self,
        session: _Session,
        sql: str,
        params: list[bytes | None] | None,
        deadline: float,
        *,
        note: bool = True,
    ) -> str | None:
        """One extra statement whose failure costs only its figure, never the sample.

        An error the server reports (no privilege, extension not preloaded) leaves the
        connection fine; a broken connection still raises, as for the sample query.
        """
        try:
            if params is None:
                results = pg_wire.execute(
                    session.pgconn, lambda c: c.send_query(sql.encode()), deadline, self._stop
                )
            else:
                results = pg_wire.execute(
                    session.pgconn, lambda c: c.send_query_params(sql.encode(), params),
                    deadline, self._stop,
                )  # fmt: skip
        except WireError as exc:
            if exc.broken:
                raise
            if note:
                self._statements_note = f"pg_stat_statements: {exc.failure.message}"[:200]
            return None
        self._own_statements += 1
        return pg_wire.value(results[-1])

    def _tps(self, xacts: int | None, now: float) -> float | None:
        # The rate is per second of the samples' own ``at``: whoever multiplies it back by the
        # time between two samples gets the transactions the server counted, exactly.
        if xacts is None:
            return None
        prev, self._prev_xacts = self._prev_xacts, (now, xacts)
        # Our own statements are transactions too, but the server counts them only when our
        # backend flushes its stats (up to a second later): carry them until they show up,
        # rather than clamping, or they would surface later as phantom traffic.
        self._own_pending = min(self._own_pending + self._own_statements, 50)
        self._own_statements = 0
        if prev is None or now <= prev[0] or xacts < prev[1]:
            return None  # first reading, or stats were reset / the server restarted
        raw = xacts - prev[1]
        mine = min(raw, self._own_pending)
        self._own_pending -= mine
        return (raw - mine) / (now - prev[0])

    # -- connect probe ---------------------------------------------------------------------

    def _ensure_probe(self) -> None:
        if self.probe_every <= 0 or self._probe_thread is not None:
            return
        self._probe_thread = threading.Thread(
            target=self._probe_loop, name="warroom-pg-probe", daemon=True
        )
        self._probe_thread.start()

    def probe_once(self) -> ProbeResult:
        """Open a fresh connection and close it: its time, or the typed refusal."""
        at = _now()
        t0 = time.perf_counter()
        timeout = min(self.connect_timeout, max(self.probe_every, 1.0))
        try:
            pgconn = pg_wire.connect(self._probe_conninfo, time.monotonic() + timeout, self._stop)
        except WireError as exc:
            return ProbeResult(at, None, exc.failure)
        elapsed = (time.perf_counter() - t0) * 1000.0
        pgconn.finish()
        return ProbeResult(at, elapsed, None)

    def _probe_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._probe = self.probe_once()
            except Stopped:
                return
            except Exception as exc:
                self._probe = ProbeResult(_now(), None, Failure(FailureKind.OTHER, repr(exc)))
            self._stop.wait(max(0.0, self.probe_every - (time.monotonic() - started)))
