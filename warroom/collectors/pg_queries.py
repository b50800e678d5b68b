"""The SQL warroom sends, per server version, and the parsing of its one-row answer.

Per connection: one setup round trip (session settings, the slot limits, two PREPAREs). Per
sample: ``EXECUTE warroom_ping`` (the latency probe) and ``EXECUTE warroom_sample`` — a single
aggregate over one snapshot of pg_stat_activity that returns everything as one JSON value, so
the server does the counting (GROUP BY) and only a few hundred bytes cross the wire whatever the
number of backends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from warroom.collectors.sample import BlockedBackend, Connections, Count, LongQuery

PROBE_APPLICATION = "warroom-probe"
QUERY_CHARS = 200
MAX_BLOCKED = 20  # pg_blocking_pids takes every lock-manager partition lock: call it sparingly

PING = "warroom_ping"
SAMPLE = "warroom_sample"


def setup_sql(server_version: int, statement_timeout_ms: int) -> str:
    """Session settings and slot limits as one row, then the prepared statements (one trip)."""
    ms = f"'{int(statement_timeout_ms)}ms'"
    settings = [
        f"set_config('statement_timeout', {ms}, false)",
        f"set_config('lock_timeout', {ms}, false)",
        "set_config('default_transaction_read_only', 'on', false)",
        # A cost-based JIT compile of the aggregate would cost more than running it.
        "set_config('jit', 'off', false)",
    ]
    if server_version >= 140000:
        # A server-wide idle_session_timeout must not cut the monitor between samples.
        settings.append("set_config('idle_session_timeout', '0', false)")
    reserved_16 = (
        "current_setting('reserved_connections')::int" if server_version >= 160000 else "0"
    )
    select = (
        "SELECT current_setting('max_connections')::int,"
        " current_setting('superuser_reserved_connections')::int,"
        f" {reserved_16}, " + ", ".join(settings)
    )
    return (
        f"{select};\n"
        f"PREPARE {PING} AS SELECT 1;\n"
        f"PREPARE {SAMPLE}(int) AS {sample_sql(server_version)}"
    )


def sample_sql(server_version: int) -> str:
    """The aggregate. ``$1`` is how many top applications/users/clients to return."""
    materialized = "MATERIALIZED " if server_version >= 120000 else ""
    top = (
        "(SELECT coalesce(json_agg(json_build_array(k, n) ORDER BY n DESC, k), '[]')"
        " FROM (SELECT {col} AS k, count(*) AS n FROM a GROUP BY 1"
        " ORDER BY 2 DESC, 1 LIMIT $1) t)"
    )
    return f"""
WITH a AS {materialized}(
    SELECT pid, coalesce(state, 'unknown') AS state, coalesce(usename::text, '') AS usename,
           coalesce(application_name, '') AS application_name,
           coalesce(host(client_addr), 'local') AS client, wait_event_type,
           xact_start, query_start, state_change, query
    FROM pg_stat_activity
    WHERE backend_type = 'client backend'
      AND pid <> pg_backend_pid()
      AND application_name IS DISTINCT FROM '{PROBE_APPLICATION}'
)
SELECT json_build_object(
  'total', (SELECT count(*) FROM a),
  'by_state', (SELECT coalesce(json_object_agg(state, n), '{{}}')
               FROM (SELECT state, count(*) AS n FROM a GROUP BY state) s),
  'waiting', (SELECT count(*) FROM a WHERE wait_event_type = 'Lock'),
  'apps', {top.format(col="application_name")},
  'users', {top.format(col="usename")},
  'clients', {top.format(col="client")},
  'oldest_xact', (SELECT greatest(extract(epoch FROM now() - min(xact_start)), 0) FROM a),
  'oldest_idle_xact', (SELECT greatest(extract(epoch FROM now() - min(state_change)), 0)
                       FROM a WHERE state LIKE 'idle in transaction%'),
  'longest', (SELECT json_build_array(pid, greatest(extract(epoch FROM now() - query_start), 0),
                                      application_name, usename, state, left(query, {QUERY_CHARS}))
              FROM a WHERE state = 'active' AND query_start IS NOT NULL
              ORDER BY query_start LIMIT 1),
  'blocked', (SELECT coalesce(json_agg(json_build_array(pid, b, application_name, w, q)
                                       ORDER BY w DESC), '[]')
              FROM (SELECT pid, pg_blocking_pids(pid) AS b, application_name,
                           greatest(extract(epoch FROM now() - query_start), 0) AS w,
                           left(query, {QUERY_CHARS}) AS q
                    FROM a WHERE wait_event_type = 'Lock'
                    ORDER BY query_start LIMIT {MAX_BLOCKED}) l
              WHERE cardinality(b) > 0),
  'xacts', (SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database)
)"""


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int
    reserved: int


def parse_limits(row: list[str | None]) -> Limits:
    max_conn, su_reserved, reserved = (int(v or 0) for v in row[:3])
    return Limits(max_conn, su_reserved + reserved)


@dataclass(frozen=True, slots=True)
class Aggregate:
    connections: Connections
    xacts: int | None
    oldest_xact_s: float | None
    oldest_idle_xact_s: float | None
    longest_query: LongQuery | None
    blocked: tuple[BlockedBackend, ...]


def _counts(rows: list[list[Any]]) -> tuple[Count, ...]:
    return tuple(Count(str(name), int(n)) for name, n in rows)


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def parse_sample(text: str, limits: Limits) -> Aggregate:
    d = json.loads(text)
    conns = Connections(
        total=int(d["total"]),
        max=limits.max_connections,
        reserved=limits.reserved,
        by_state={str(k): int(v) for k, v in d["by_state"].items()},
        waiting=int(d["waiting"]),
        by_application=_counts(d["apps"]),
        by_user=_counts(d["users"]),
        by_client=_counts(d["clients"]),
    )
    longest = None
    if d["longest"]:
        pid, age, app, user, state, query = d["longest"]
        longest = LongQuery(int(pid), float(age), app, user, state, query or "")
    blocked = tuple(
        BlockedBackend(int(pid), tuple(int(b) for b in by), app, float(w), q or "")
        for pid, by, app, w, q in d["blocked"]
    )
    return Aggregate(
        connections=conns,
        xacts=None if d["xacts"] is None else int(d["xacts"]),
        oldest_xact_s=_float(d["oldest_xact"]),
        oldest_idle_xact_s=_float(d["oldest_idle_xact"]),
        longest_query=longest,
        blocked=blocked,
    )
