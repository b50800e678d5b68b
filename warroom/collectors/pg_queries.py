"""The SQL warroom sends, per server version, and the parsing of its one-row answer.

Per connection: one setup round trip (session settings, the slot limits, two PREPAREs). Per
sample: ``EXECUTE warroom_ping`` (the latency probe) and ``EXECUTE warroom_sample`` — a single
aggregate over one snapshot of pg_stat_activity that returns everything as one JSON value, so
the server does the counting (GROUP BY) and only a few hundred bytes cross the wire whatever the
number of backends. A recorder's frame is ``EXECUTE warroom_frame`` instead (prepared on first
use): the same aggregate with every backend's row, from the same snapshot.

Also here: the statements sent beside the sample on the same connection (the lock detail, the
backends view's list and signals) and `warroom doctor`'s check. Their siblings hold the rest,
one module per concern: pg_queries_replication.py, pg_queries_statements.py (pg_stat_statements)
and pg_queries_serverlog.py. The ops database's schema SQL stays in sessions/share/opsdb.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from warroom.collectors.sample import (
    BlockedBackend,
    Connections,
    Count,
    Group,
    IdleTxApp,
    LockRoot,
    LongQuery,
    WaitCount,
)

PROBE_APPLICATION = "warroom-probe"
QUERY_CHARS = 200
BACKENDS_QUERY_CHARS = 1024  # what pg_stat_activity keeps by default (track_activity_query_size)
GROUP_CLIENTS = 3  # client addresses kept per group: where a service runs, not every host
MAX_BLOCKED = 20  # pg_blocking_pids takes every lock-manager partition lock: call it sparingly

PING = "warroom_ping"
SAMPLE = "warroom_sample"
FRAME = "warroom_frame"  # the sample with every backend: a recorder's (prepared on first use)


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
        f"{prepare_sample_sql(server_version)}"
    )


def prepare_sample_sql(server_version: int, *, with_backends: bool = False) -> str:
    name = FRAME if with_backends else SAMPLE
    body = sample_sql(server_version, with_backends=with_backends)
    return f"PREPARE {name}(int, float8) AS {body}"


def _activity(server_version: int, listed: bool) -> str:
    """The client backends every statement here works from, as one relation (the CTE ``a``):
    the sample counts them, the list shows them, a recorder's frame does both from one read.

    ``listed``: with the list's columns (database, client port, the query's first kB and
    whether it was cut) where the sample keeps its first 200 characters. Reading the view is
    most of the cost at scale (for each backend the server looks up its process among all of
    them), so a frame reads it once for both, and its counts and its list agree.
    """
    # 18 lists a backend from its fork on, as 'starting' until it has authenticated; before 18 it
    # appears only then. One that a full server is about to refuse (a storm's, or our own
    # probe's, whose name is not known yet) holds no slot anyone could use: not counted.
    started = "\n      AND state IS DISTINCT FROM 'starting'" if server_version >= 180000 else ""
    # The text cut here, as it is kept: a materialized snapshot of every backend's whole query
    # (track_activity_query_size is often raised to many kB) outgrows work_mem and goes to disk.
    query = f"left(query, {QUERY_CHARS}) AS query"
    if listed:
        query = f"""left(query, {BACKENDS_QUERY_CHARS}) AS query,
           -- The server cut the text at track_activity_query_size bytes (less one), or we did.
           -- In bytes here ('1kB' from current_setting). A scalar subquery is read once (an
           -- InitPlan); joined, the planner re-read every setting for each backend: 8 of the
           -- list's 12.5 ms at 500 backends (bench/bench_recorder_server.py).
           (octet_length(query) >= (SELECT setting::int FROM pg_settings
                                    WHERE name = 'track_activity_query_size') - 1
            OR length(query) > {BACKENDS_QUERY_CHARS}) AS query_truncated,
           datname, client_port"""
    return f"""
    SELECT pid, coalesce(state, 'unknown') AS state, coalesce(usename::text, '') AS usename,
           coalesce(application_name, '') AS application_name,
           coalesce(host(client_addr), 'local') AS client, wait_event_type, wait_event,
           backend_start, xact_start, query_start, state_change, {query}
    FROM pg_stat_activity
    WHERE backend_type = 'client backend'
      AND pid <> pg_backend_pid()
      AND application_name IS DISTINCT FROM '{PROBE_APPLICATION}'{started}"""


def sample_sql(server_version: int, *, with_backends: bool = False) -> str:
    """The aggregate. ``$1``: how many top names to return; ``$2``: the previous sample's server
    clock (epoch seconds, NULL on the first), so "new since then" counts each backend once.

    ``with_backends``: a recorder's frame, which also returns every backend as the list does
    (``backends``), from the same snapshot."""
    materialized = "MATERIALIZED " if server_version >= 120000 else ""
    # Top names from g (a few rows per service), not one more pass over every backend.
    top_g = (
        "(SELECT coalesce(json_agg(json_build_array(k, n) ORDER BY n DESC, k), '[]')"
        " FROM (SELECT {col} AS k, sum(n) AS n FROM g GROUP BY 1"
        " ORDER BY 2 DESC, 1 LIMIT $1) t)"
    )
    # Session counters arrived in 14; before that only backend_start of the survivors tells.
    sessions = (
        "(SELECT json_build_array(sum(sessions), sum(sessions_abandoned), sum(sessions_fatal),"
        " sum(sessions_killed)) FROM pg_stat_database)"
        if server_version >= 140000
        else "NULL::json"
    )
    listed = (
        f"\n  'backends', (SELECT {_LIST_AGG} FROM ({_list_rows('NULL')}) b),"
        if with_backends
        else ""
    )
    return f"""
WITH a AS {materialized}({_activity(server_version, with_backends)}
), l AS {materialized}(
    SELECT pid, pg_blocking_pids(pid) AS b, application_name,
           greatest(extract(epoch FROM now() - query_start), 0) AS w,
           left(query, {QUERY_CHARS}) AS q
    FROM a WHERE wait_event_type = 'Lock'
    ORDER BY query_start LIMIT {MAX_BLOCKED}
), g AS {materialized}(
    -- Application, user and client address together: every "who" figure below is read
    -- from these few rows instead of from every backend again.
    SELECT application_name AS app, usename AS usr, client, count(*) AS n,
           count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS itx,
           min(state_change) FILTER (WHERE state LIKE 'idle in transaction%') AS o
    FROM a GROUP BY 1, 2, 3
), s AS (
    -- The scalar figures in one pass over the snapshot, not one scan each.
    SELECT count(*) AS total,
           count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting,
           greatest(extract(epoch FROM now() - min(xact_start)), 0) AS oldest_xact,
           greatest(extract(epoch FROM now() - min(state_change)
                    FILTER (WHERE state LIKE 'idle in transaction%')), 0) AS oldest_idle_xact,
           count(*) FILTER (WHERE backend_start > to_timestamp($2::float8)) AS new_total
    FROM a
)
SELECT json_build_object(
  'total', (SELECT total FROM s),
  'by_state', (SELECT coalesce(json_object_agg(state, n), '{{}}')
               FROM (SELECT state, count(*) AS n FROM a GROUP BY state) s),
  'waiting', (SELECT waiting FROM s),
  'apps', {top_g.format(col="app")},
  'users', {top_g.format(col="usr")},
  'clients', {top_g.format(col="client")},
  -- Who holds the slots: application and user together (a blank name is most drivers'
  -- default, and two services without one are still two users), with each group's busiest
  -- client addresses.
  'groups', (SELECT coalesce(json_agg(json_build_array(app, usr, n, nc, itx, o, cl)
                                      ORDER BY n DESC, app, usr), '[]')
             FROM (SELECT app, usr, sum(n) AS n, count(*) AS nc, sum(itx) AS itx,
                          greatest(extract(epoch FROM now() - min(o)), 0) AS o,
                          json_agg(json_build_array(client, n) ORDER BY n DESC, client)
                            FILTER (WHERE r <= {GROUP_CLIENTS}) AS cl
                   FROM (SELECT *, row_number() OVER (PARTITION BY app, usr
                                                      ORDER BY n DESC, client) AS r
                         FROM g) c
                   GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $1) t),
  'oldest_xact', (SELECT oldest_xact FROM s),
  'oldest_idle_xact', (SELECT oldest_idle_xact FROM s),
  'longest', (SELECT json_build_array(pid, greatest(extract(epoch FROM now() - query_start), 0),
                                      application_name, usename, state, left(query, {QUERY_CHARS}))
              FROM a WHERE state = 'active' AND query_start IS NOT NULL
              ORDER BY query_start LIMIT 1),
  'blocked', (SELECT coalesce(json_agg(json_build_array(pid, b, application_name, w, q)
                                       ORDER BY w DESC), '[]')
              FROM l WHERE cardinality(b) > 0),
  -- Blockers that are not waiting on a lock themselves: the roots of the chains.
  'roots', CASE WHEN (SELECT waiting FROM s) = 0 THEN '[]'::json ELSE
           (SELECT coalesce(json_agg(json_build_array(
                      r.pid, r.application_name, r.usename, r.state,
                      extract(epoch FROM now() - r.xact_start),
                      extract(epoch FROM now() - r.state_change),
                      (SELECT count(*) FROM l WHERE r.pid = ANY (l.b)),
                      left(r.query, {QUERY_CHARS}))), '[]')
            FROM a r
            WHERE r.pid IN (SELECT unnest(b) FROM l)
              AND r.wait_event_type IS DISTINCT FROM 'Lock') END,
  'waits', (SELECT coalesce(json_agg(json_build_array(t, e, n) ORDER BY n DESC, t, e), '[]')
            FROM (SELECT wait_event_type AS t, wait_event AS e, count(*) AS n FROM a
                  WHERE state = 'active' AND wait_event_type IS NOT NULL
                  GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $1) w),
  'idle_tx_apps', (SELECT coalesce(json_agg(json_build_array(k, n, o) ORDER BY n DESC, k), '[]')
                   FROM (SELECT app AS k, sum(itx) AS n,
                                greatest(extract(epoch FROM now() - min(o)), 0) AS o
                         FROM g WHERE itx > 0
                         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $1) t),
  -- The sessions started since the previous sample and still here, grouped as 'groups' is
  -- (application and user, with their busiest addresses): who a churner is.
  'new_groups', CASE WHEN (SELECT new_total FROM s) > 0 THEN
    (SELECT coalesce(json_agg(json_build_array(app, usr, n, nc, cl) ORDER BY n DESC, app, usr),
                     '[]')
     FROM (SELECT app, usr, sum(n) AS n, count(*) AS nc,
                  json_agg(json_build_array(client, n) ORDER BY n DESC, client)
                    FILTER (WHERE r <= {GROUP_CLIENTS}) AS cl
           FROM (SELECT *, row_number() OVER (PARTITION BY app, usr
                                              ORDER BY n DESC, client) AS r
                 FROM (SELECT application_name AS app, usename AS usr, client, count(*) AS n
                       FROM a WHERE backend_start > to_timestamp($2::float8)
                       GROUP BY 1, 2, 3) n) c
           GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $1) t)
    ELSE '[]'::json END,
  'new_total', CASE WHEN $2::float8 IS NULL THEN NULL ELSE (SELECT new_total FROM s) END,
  'sessions', {sessions},
  'now', extract(epoch FROM now()),
  'started', extract(epoch FROM pg_postmaster_start_time()),
  'conf_loaded', extract(epoch FROM pg_conf_load_time()),
  'in_recovery', pg_is_in_recovery(),
  'xacts', (SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database),{listed}
  -- Last, so everything above has run: the server time this sample cost (pace.py).
  'took', extract(epoch FROM clock_timestamp() - statement_timestamp())
)"""


# Read only when the server says its configuration changed (a reload or a restart): the whole
# table is a few hundred rows, too much for every sample, nothing when nothing changed.
SETTINGS_SQL = (
    "SELECT json_object_agg(name, json_build_array(setting, pending_restart))"
    " FROM pg_settings"
)


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
    roots: tuple[LockRoot, ...] = ()
    waits: tuple[WaitCount, ...] = ()
    idle_tx_apps: tuple[IdleTxApp, ...] = ()
    new_apps: tuple[Count, ...] = ()  # from new_groups, by application
    new_groups: tuple[Group, ...] = ()
    new_total: int | None = None
    sessions: tuple[int, int, int, int] | None = None  # sessions, abandoned, fatal, killed
    server_now: float | None = None  # epoch seconds
    started: float | None = None
    conf_loaded: float | None = None
    in_recovery: bool | None = None
    server_s: float | None = None  # the server time the sample statement took


def _counts(rows: list[list[Any]]) -> tuple[Count, ...]:
    return tuple(Count(str(name), int(n)) for name, n in rows)


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _transitive(
    roots: tuple[LockRoot, ...], blocked: tuple[BlockedBackend, ...]
) -> tuple[LockRoot, ...]:
    """Count every waiter behind each root, not only the direct ones.

    A queue on one row is a chain (each waiter waits on the one ahead, only the first on the
    holder), so the holder's direct count would say 1 where 14 sessions are stuck behind it.
    """
    waits_on = {b.pid: b.blocked_by for b in blocked}
    root_pids = {r.pid for r in roots}
    behind: dict[int, int] = dict.fromkeys(root_pids, 0)
    for pid in waits_on:
        seen: set[int] = set()
        todo = [pid]
        found: set[int] = set()
        while todo:
            cur = todo.pop()
            for up in waits_on.get(cur, ()):
                if up in root_pids:
                    found.add(up)
                elif up not in seen:
                    seen.add(up)
                    todo.append(up)
        for root in found:
            behind[root] += 1
    ranked = [replace(r, blocks=max(r.blocks, behind.get(r.pid, 0))) for r in roots]
    ranked.sort(key=lambda r: -r.blocks)
    return tuple(ranked)


def parse_sample(d: dict[str, Any], limits: Limits) -> Aggregate:
    """The sample statement's JSON object (loaded: a frame's backends are taken out first)."""
    conns = Connections(
        total=int(d["total"]),
        max=limits.max_connections,
        reserved=limits.reserved,
        by_state={str(k): int(v) for k, v in d["by_state"].items()},
        waiting=int(d["waiting"]),
        by_application=_counts(d["apps"]),
        by_user=_counts(d["users"]),
        by_client=_counts(d["clients"]),
        by_group=tuple(
            Group(str(app), str(user), int(n), _counts(clients or []), int(nc), int(itx),
                  _float(o) if itx else None)
            for app, user, n, nc, itx, o, clients in d.get("groups") or ()
        ),
    )
    longest = None
    if d["longest"]:
        pid, age, app, user, state, query = d["longest"]
        longest = LongQuery(int(pid), float(age), app, user, state, query or "")
    blocked = tuple(
        BlockedBackend(int(pid), tuple(int(b) for b in by), app, float(w), q or "")
        for pid, by, app, w, q in d["blocked"]
    )
    roots = tuple(
        LockRoot(int(pid), str(app), str(user), str(state), _float(xs), _float(ss), int(n),
                 str(q or ""))
        for pid, app, user, state, xs, ss, n, q in d.get("roots") or ()
    )  # fmt: skip
    roots = _transitive(roots, blocked)
    waits = tuple(WaitCount(str(t), str(e or ""), int(n)) for t, e, n in d.get("waits") or ())
    idle_tx = tuple(
        IdleTxApp(str(k), int(n), float(o or 0.0)) for k, n, o in d.get("idle_tx_apps") or ()
    )
    sessions = d.get("sessions")
    new_groups = tuple(
        Group(str(app), str(user), int(n), _counts(clients or []), int(nc))
        for app, user, n, nc, clients in d.get("new_groups") or ()
    )
    new_apps: dict[str, int] = {}
    for g in new_groups:
        new_apps[g.application] = new_apps.get(g.application, 0) + g.count
    return Aggregate(
        roots=roots,
        waits=waits,
        idle_tx_apps=idle_tx,
        new_apps=tuple(Count(k, n) for k, n in sorted(new_apps.items(), key=lambda kv: -kv[1])),
        new_groups=new_groups,
        new_total=None if d.get("new_total") is None else int(d["new_total"]),
        sessions=None if not sessions or sessions[0] is None
        else (int(sessions[0]), int(sessions[1]), int(sessions[2]), int(sessions[3])),
        server_now=_float(d.get("now")),
        started=_float(d.get("started")),
        conf_loaded=_float(d.get("conf_loaded")),
        in_recovery=d.get("in_recovery"),
        server_s=_float(d.get("took")),
        connections=conns,
        xacts=None if d["xacts"] is None else int(d["xacts"]),
        oldest_xact_s=_float(d["oldest_xact"]),
        oldest_idle_xact_s=_float(d["oldest_idle_xact"]),
        longest_query=longest,
        blocked=blocked,
    )


# $1: the roots' pids; $2: the pids waiting on a lock.
LOCK_DETAIL_SQL = """
WITH k AS MATERIALIZED (
    SELECT pid, locktype, mode, granted, database, relation, page, tuple, virtualxid,
           transactionid, classid, objid, objsubid
    FROM pg_locks WHERE pid = ANY ($1::int[]) OR pid = ANY ($2::int[])
), w AS (
    SELECT * FROM k WHERE NOT granted AND pid = ANY ($2::int[])
)
SELECT coalesce(json_agg(json_build_array(
           h.pid, h.locktype, h.mode,
           CASE WHEN h.relation IS NOT NULL THEN h.relation::regclass::text END,
           coalesce(h.transactionid::text, h.virtualxid,
                    CASE WHEN h.tuple IS NOT NULL THEN '(' || h.page || ',' || h.tuple || ')' END,
                    h.page::text, h.objid::text, ''),
           -- A row lock is a wait on the holder's transaction id; the first waiter holds the
           -- tuple lock, and its relation is the table of the row.
           CASE WHEN h.locktype = 'transactionid' THEN
               (SELECT json_agg(DISTINCT t.relation::regclass::text) FROM k t
                WHERE t.locktype = 'tuple' AND t.pid IN
                      (SELECT x.pid FROM w x WHERE x.locktype = 'transactionid'
                       AND x.transactionid = h.transactionid)) END
       ) ORDER BY h.pid, h.locktype), '[]')
FROM k h
WHERE h.granted AND h.pid = ANY ($1::int[])
  AND EXISTS (SELECT 1 FROM w
              WHERE w.locktype = h.locktype
                AND w.database IS NOT DISTINCT FROM h.database
                AND w.relation IS NOT DISTINCT FROM h.relation
                AND w.page IS NOT DISTINCT FROM h.page
                AND w.tuple IS NOT DISTINCT FROM h.tuple
                AND w.virtualxid IS NOT DISTINCT FROM h.virtualxid
                AND w.transactionid IS NOT DISTINCT FROM h.transactionid
                AND w.classid IS NOT DISTINCT FROM h.classid
                AND w.objid IS NOT DISTINCT FROM h.objid
                AND w.objsubid IS NOT DISTINCT FROM h.objsubid)
"""


def backends_list_sql(server_version: int) -> str:
    """The backends view's list: one row per client backend, as JSON (a recorder's frame gets
    the same rows with its sample: ``sample_sql(..., with_backends=True)``).

    Ordered by how long the current query (or open transaction) has run: the culprit first.
    ``$1``: the row cap, NULL for none (``LIMIT NULL`` is no limit). Times are UTC ISO text
    (a JSON timestamp is ISO whatever DateStyle says); ages are seconds on the server's clock.
    """
    return f"""
WITH a AS ({_activity(server_version, True)}
)
SELECT {_LIST_AGG}::text FROM ({_list_rows('$1')}) b"""


_LIST_AGG = "coalesce(json_agg(b ORDER BY b.age DESC NULLS LAST, b.pid), '[]')"


def _list_rows(limit: str) -> str:
    """The list's rows over ``a`` (``_activity`` with ``listed``), at most ``limit``."""
    return f"""
  SELECT pid,
         backend_start AT TIME ZONE 'UTC' AS backend_start,
         coalesce(datname::text, '') AS database,
         application_name AS application,
         usename AS "user",
         client,
         client_port,
         state,
         xact_start AT TIME ZONE 'UTC' AS xact_start,
         query_start AT TIME ZONE 'UTC' AS query_start,
         extract(epoch FROM now() - xact_start)::float8 AS xact_s,
         extract(epoch FROM now() - query_start)::float8 AS query_s,
         extract(epoch FROM now() - state_change)::float8 AS state_s,
         coalesce(wait_event_type, '') AS wait_type,
         coalesce(wait_event, '') AS wait_event,
         CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) ELSE '{{}}' END
           AS blocked_by,
         query,
         query_truncated,
         greatest(now() - xact_start, now() - query_start) AS age
  FROM a
  ORDER BY greatest(now() - xact_start, now() - query_start) DESC NULLS LAST, pid
  LIMIT {limit}
"""


# One statement per action; the count is of backends PostgreSQL agreed to signal.
BACKENDS_SIGNAL_PIDS_SQL = """
SELECT count(*) FILTER (WHERE CASE WHEN $2 THEN pg_terminate_backend(p)
                                   ELSE pg_cancel_backend(p) END)
FROM unnest($1::int[]) AS p
WHERE p <> pg_backend_pid()
"""
BACKENDS_SIGNAL_APP_SQL = """
SELECT count(*) FILTER (WHERE CASE WHEN $2 THEN pg_terminate_backend(pid)
                                   ELSE pg_cancel_backend(pid) END)
FROM pg_stat_activity
WHERE application_name = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""

# The tagged set and the predicate action: each backend named by pid and start (the JSON's
# UTC text), so a pid the server gave to a new backend since the list is left alone. A backend
# gone, or that ended before the signal reached it (the function says false), is 'gone'.
BACKENDS_SIGNAL_IDENTITIES_SQL = f"""
SELECT json_build_object(
  'signalled', coalesce(json_agg(t.pid ORDER BY t.pid) FILTER (WHERE t.ok), '[]'),
  'gone', coalesce(json_agg(t.pid ORDER BY t.pid) FILTER (WHERE t.ok IS NOT TRUE), '[]'))::text
FROM (
  SELECT w.pid,
         CASE WHEN a.pid IS NULL THEN NULL
              WHEN $3 THEN pg_terminate_backend(a.pid)
              ELSE pg_cancel_backend(a.pid) END AS ok
  FROM unnest($1::int[], $2::timestamp[]) AS w(pid, started)
  LEFT JOIN pg_stat_activity a
    ON a.pid = w.pid AND a.backend_start AT TIME ZONE 'UTC' = w.started
   AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
   AND a.application_name IS DISTINCT FROM '{PROBE_APPLICATION}'
) t
"""

# `warroom doctor`: the monitoring role's grants and the settings it needs, one row.
DOCTOR_CHECK_SQL = """
SELECT current_user, current_setting('server_version_num')::int,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       pg_has_role(current_user, 'pg_monitor', 'USAGE'),
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE'),
       CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_has_role(current_user, 'pg_use_reserved_connections', 'USAGE') END,
       CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN current_setting('reserved_connections')::int END,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'),
       -- NULL without pg_read_all_settings (a part of pg_monitor): unknown, not empty
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'),
       current_database()
"""
