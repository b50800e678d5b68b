"""The monitoring connection: its session state, the connect thread, retries and backoff.

One attempt (connect + setup) runs on its own short-lived thread so a slow handshake can span
several samples; a refusal for lack of slots is retried at once, anything else backs off.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import psutil
from psycopg import pq

from warroom.collectors import pg_queries, pg_wire
from warroom.collectors.pg_wire import Stopped, WireError
from warroom.collectors.sample import Failure, FailureKind

# A refused connect is retried at once, a few tens of ms apart: in a churning storm a slot is
# free for moments only, and the one we catch is then held for good.
REFUSED_RETRY_S = (0.02, 0.08)
REFUSALS = frozenset({FailureKind.TOO_MANY_CONNECTIONS})


def _parent_pid(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid() or None
    except psutil.Error:
        return None


@dataclass(slots=True)
class MonitorSession:
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
    frame_prepared: bool = False  # pg_queries.FRAME, a recorder's sample
    frames_after: float = 0.0  # monotonic: until then the frame is too slow, counts alone
    frames_failed: int = 0  # frames cancelled in a row (the pause doubles with each)
    # Why this connection no longer asks for replication (the server refused the statement:
    # a revoked function, a fork without one of the views). Asking again every sample would
    # only fill the server's log with the same ERROR; a new connection asks again.
    replication_refused: Failure | None = None


class Connector:
    """One connection attempt (connect + setup) on its own thread, bounded by ``timeout``."""

    def __init__(self, conninfo: str, timeout: float, statement_timeout_ms: int) -> None:
        self.done = threading.Event()
        self.session: MonitorSession | None = None
        self.failure: Failure | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = False
        self._args = (conninfo, timeout, statement_timeout_ms)
        threading.Thread(target=self._run, name="warroom-pg-connect", daemon=True).start()

    def _run(self) -> None:
        conninfo, timeout, st_ms = self._args
        deadline = time.monotonic() + timeout
        session: MonitorSession | None = None
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
) -> MonitorSession:
    version = pgconn.server_version
    sql = pg_queries.setup_sql(version, statement_timeout_ms).encode()
    results = pg_wire.execute(pgconn, lambda c: c.send_query(sql), deadline, stop)
    first = results[0]
    row = [pg_wire.value(first, 0, i) for i in range(3)]
    return MonitorSession(pgconn, pg_queries.parse_limits(row), version)


class Connecting:
    """PostgresCollector's part that gets and drops the monitoring connection."""

    budget: float
    backoff_base: float
    backoff_max: float
    connect_timeout: float
    process_titles: bool
    _conninfo: str
    _statement_timeout_ms: int
    _stop: threading.Event
    _session: MonitorSession | None
    _connector: Connector | None
    _next_attempt: float
    _failures_in_row: int
    _last_failure: Failure | None
    _limits: pg_queries.Limits | None
    _prev_xacts: tuple[float, int] | None
    _own_statements: int
    _own_pending: int
    _local: bool
    _postmaster: int | None

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
                self._connector = Connector(
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
            if failure.kind in REFUSALS and time.monotonic() + pause < stop_at - 0.05:
                self._last_failure = failure
                if self._stop.wait(pause):
                    return failure
                continue
            if failure.kind in REFUSALS:
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
