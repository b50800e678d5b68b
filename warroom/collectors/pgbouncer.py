"""PgBouncer's admin console: SHOW POOLS and SHOW STATS, per pool, within a time budget.

The admin console speaks only the simple query protocol ("extended query protocol not supported
by admin console"). We send ``SHOW ...`` with libpq's PQsendQuery, which is the simple protocol
by definition whatever psycopg's own heuristics do, through ``pg_wire``, which also puts a
deadline on every wait: a stalled PgBouncer costs one budget, never a hung worker.

Columns differ across PgBouncer versions (``maxwait_us`` since 1.8, ``avg_query`` renamed
``avg_query_time`` in 1.8, columns added in most releases), so every column is looked up by name
and a missing one reads as 0 (or None for the averages).

``SHOW STATS`` is per database, so every pool of a database carries that database's averages
(over PgBouncer's ``stats_period``, 60 s by default). The console's own pseudo-pool
(database ``pgbouncer``) is left out, like the PostgreSQL collector leaves out its own backend.
Pools come sorted worst first: most clients waiting, then longest wait, then busiest.

While a pool has clients waiting, ``SHOW CLIENTS`` says who they are: its clients grouped by
application and address, most waiting first (the pool names the database and user; these
name the services queueing behind it).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime

from psycopg import pq
from psycopg.conninfo import make_conninfo

from warroom.collectors import pg_wire
from warroom.collectors.bouncer_sample import BouncerSample, ClientGroup, PoolStats
from warroom.collectors.sample import Failure, FailureKind
from warroom.dsn import DsnError
from warroom.dsn import parse as parse_dsn

ADMIN_DB = "pgbouncer"
CLIENT_GROUPS = 10  # per pool: the applications/addresses with most waiting clients
_BACKOFF_START = 0.5
_BACKOFF_CAP = 5.0

# PgBouncer reports most of its own refusals with SQLSTATE 08P01 (protocol_violation), which
# would read as "unreachable"; its texts say what really happened.
_BOUNCER_TEXTS: tuple[tuple[str, FailureKind], ...] = (
    ("no more connections allowed", FailureKind.TOO_MANY_CONNECTIONS),
    ("shutting down", FailureKind.SHUTTING_DOWN),
    ("admin access needed", FailureKind.PERMISSION),
    ("not allowed", FailureKind.PERMISSION),
    ("no such user", FailureKind.AUTH),
    ("authentication failed", FailureKind.AUTH),
)


class PgBouncerCollector:
    """One admin-console connection, kept between samples and reopened after a failure.

    ``dsn`` is any libpq DSN or URI for the PgBouncer listener (PG* variables, ~/.pgpass and
    service files apply); the database is always ``pgbouncer``. The user must be in PgBouncer's
    ``admin_users`` or ``stats_users``. ``sample()`` never raises and returns within ``budget``
    seconds (host names are resolved by libpq before the clock can stop it: give an address
    when DNS may be what is failing). After a failure, reconnects back off from 0.5 s to 5 s;
    a sample taken meanwhile repeats the failure at once instead of knocking again.
    """

    def __init__(self, dsn: str, *, budget: float = 0.8) -> None:
        self.dsn = dsn
        self.budget = budget
        self._conninfo: str | None = None
        self._conninfo_error: Failure | None = None
        try:
            # Read by warroom.dsn first: libpq's own parse message may quote the password.
            parse_dsn(dsn, "the PgBouncer connection string")
            self._conninfo = make_conninfo(dsn, dbname=ADMIN_DB)
        except DsnError as exc:
            self._conninfo_error = Failure(FailureKind.OTHER, str(exc))
        self._pgconn: pq.PGconn | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._backoff = 0.0
        self._retry_at = 0.0
        self._last_failure: Failure | None = None

    def sample(self) -> BouncerSample:
        at = datetime.now(UTC)
        with self._lock:
            if self._stop.is_set():
                return _down(at, Failure(FailureKind.OTHER, "the PgBouncer collector is closed"))
            if self._conninfo_error is not None:
                return _down(at, self._conninfo_error)
            deadline = time.monotonic() + self.budget
            try:
                pools = self._collect(deadline)
            except pg_wire.Stopped:
                return _down(at, Failure(FailureKind.OTHER, "the PgBouncer collector is closed"))
            except pg_wire.WireError as exc:
                failure = _refine(exc.failure)
                if exc.broken:
                    self._drop(failure)
                return _down(at, failure)
            except Exception as exc:  # a bug here must not take the dashboard down
                failure = Failure(FailureKind.OTHER, f"unexpected PgBouncer answer: {exc}")
                self._drop(failure)
                return _down(at, failure)
            self._backoff = 0.0
            return BouncerSample(at=at, status="up", pools=pools)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._pgconn is not None:
                self._pgconn.finish()
                self._pgconn = None

    # -- internals -------------------------------------------------------------------------

    def _collect(self, deadline: float) -> tuple[PoolStats, ...]:
        pgconn = self._connection(deadline)
        pools = _rows(self._show(pgconn, b"SHOW POOLS", deadline))
        stats_rows = _rows(self._show(pgconn, b"SHOW STATS", deadline))
        stats = {row.get("database", ""): row for row in stats_rows}
        found = [_pool(row, stats.get(row.get("database", ""), {})) for row in pools]
        found = [p for p in found if p.database != ADMIN_DB]
        if any(p.cl_waiting for p in found):
            # Who is queueing: one row per client, so read only while some pool has a queue.
            groups = _client_groups(_rows(self._show(pgconn, b"SHOW CLIENTS", deadline)))
            found = [replace(p, clients=groups.get((p.database, p.user), ())) if p.cl_waiting
                     else p for p in found]  # fmt: skip
        found.sort(key=lambda p: (-p.cl_waiting, -p.maxwait_s, -(p.cl_active + p.sv_active),
                                  p.database, p.user))  # fmt: skip
        return tuple(found)

    def _connection(self, deadline: float) -> pq.PGconn:
        if self._pgconn is not None and self._pgconn.status == pq.ConnStatus.OK:
            return self._pgconn
        if self._pgconn is not None:
            self._pgconn.finish()
            self._pgconn = None
        if self._last_failure is not None and time.monotonic() < self._retry_at:
            raise pg_wire.WireError(self._last_failure, broken=False)
        assert self._conninfo is not None
        self._pgconn = pg_wire.connect(self._conninfo, deadline, self._stop)
        self._last_failure = None
        return self._pgconn

    def _show(self, pgconn: pq.PGconn, command: bytes, deadline: float) -> pq.PGresult:
        results = pg_wire.execute(pgconn, lambda c: c.send_query(command), deadline, self._stop)
        for res in results:
            if res.status == pq.ExecStatus.TUPLES_OK:
                return res
        raise ValueError(f"{command.decode()} returned no rows")

    def _drop(self, failure: Failure) -> None:
        if self._pgconn is not None:
            self._pgconn.finish()
            self._pgconn = None
        self._last_failure = failure
        self._backoff = min(_BACKOFF_CAP, max(_BACKOFF_START, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff


def _down(at: datetime, failure: Failure) -> BouncerSample:
    return BouncerSample(at=at, status="down", error=failure)


def _refine(failure: Failure) -> Failure:
    lowered = failure.message.lower()
    for needle, kind in _BOUNCER_TEXTS:
        if needle in lowered:
            return Failure(kind, failure.message, failure.sqlstate)
    return failure


def _rows(res: pq.PGresult) -> list[dict[str, str]]:
    names = [(res.fname(i) or b"").decode("utf-8", "replace") for i in range(res.nfields)]
    rows = []
    for r in range(res.ntuples):
        row = {}
        for c, name in enumerate(names):
            raw = res.get_value(r, c)
            row[name] = "" if raw is None else raw.decode("utf-8", "replace")
        rows.append(row)
    return rows


def _int(row: dict[str, str], *names: str) -> int:
    for name in names:
        text = row.get(name)
        if text:
            try:
                return int(text)
            except ValueError:
                return int(float(text))
    return 0


def _ms(row: dict[str, str], *names: str) -> float | None:
    """A microsecond column as milliseconds; None when this PgBouncer has no such column."""
    for name in names:
        if name in row:
            return _int(row, name) / 1000.0
    return None


def _pool(row: dict[str, str], stats: dict[str, str]) -> PoolStats:
    return PoolStats(
        database=row.get("database", ""),
        user=row.get("user", ""),
        cl_active=_int(row, "cl_active"),
        cl_waiting=_int(row, "cl_waiting"),
        sv_active=_int(row, "sv_active"),
        sv_idle=_int(row, "sv_idle"),
        maxwait_s=_int(row, "maxwait") + _int(row, "maxwait_us") / 1_000_000,
        avg_query_ms=_ms(stats, "avg_query_time", "avg_query"),
        avg_wait_ms=_ms(stats, "avg_wait_time"),
    )


def _client_groups(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[ClientGroup, ...]]:
    """SHOW CLIENTS rows grouped per pool by (application, address), most waiting first."""
    # [clients, waiting, longest wait] per (pool, application, address)
    tally: dict[tuple[str, str], dict[tuple[str, str], list[float]]] = defaultdict(dict)
    for row in rows:
        pool = (row.get("database", ""), row.get("user", ""))
        key = (row.get("application_name", ""), row.get("addr", ""))
        figures = tally[pool].setdefault(key, [0, 0, 0.0])
        figures[0] += 1
        # 1.18 added "waiting_cancel_req"; a cancel request waits for a server as well.
        if row.get("state", "").startswith("waiting"):
            figures[1] += 1
            wait = _int(row, "wait") + _int(row, "wait_us") / 1_000_000
            figures[2] = max(figures[2], wait)
    out: dict[tuple[str, str], tuple[ClientGroup, ...]] = {}
    for pool, groups in tally.items():
        ranked = sorted(groups.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        out[pool] = tuple(
            ClientGroup(app, addr, int(n), int(w), longest)
            for (app, addr), (n, w, longest) in ranked[:CLIENT_GROUPS]
        )
    return out
