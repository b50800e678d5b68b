"""The ops PostgreSQL: its schema, and every statement warroom sends it.

Events live in ``warroom.events``, append-only for responders: they may only call
``warroom.publish`` (SECURITY DEFINER), which takes the incident's row lock, numbers the new
events with the incident's own sequence (so a reader's ``seq > N`` never skips an event that
commits late, as a global serial could), ignores ids it already has, and sends one NOTIFY with
just the incident id and the last sequence. Presence is a heartbeat row per host and author.

Every network wait has a deadline: libpq's connect_timeout for connecting, and a watchdog that
shuts the socket down for anything after (a proxy that accepts and never answers would
otherwise hold a query forever; TCP keepalives are answered by the proxy's kernel).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from warroom.dsn import DsnError, parse
from warroom.errors import UserError

if TYPE_CHECKING:
    import psycopg

# psycopg is imported where it is used: `warroom note` on a session that is not shared, and
# everything else in sessions/, never loads a database driver (tests/test_layering.py).

CHANNEL = "warroom_events"
SCHEMA_VERSION = 1
CONNECT_TIMEOUT = 2  # seconds; libpq's own
QUERY_TIMEOUT = 4.0  # seconds for any one round trip after connecting
# How long `watch --share` waits for the check that the ops database is not a watched server
# before it opens the dashboard anyway (the sharer then waits for it): servers near by answer
# in milliseconds (~6 ms for local ones), and the first frame is due within 0.6 s.
PREFLIGHT_S = 0.15
RESPONDER_ROLE = "warroom_responder"

_MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE warroom.incidents (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    last_seq bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE warroom.events (
    incident text NOT NULL REFERENCES warroom.incidents (id),
    seq bigint NOT NULL,
    id uuid NOT NULL UNIQUE,
    at timestamptz NOT NULL,
    host text NOT NULL,
    author text NOT NULL,
    kind text NOT NULL,
    v integer NOT NULL,
    data jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident, seq)
);
CREATE TABLE warroom.presence (
    incident text NOT NULL REFERENCES warroom.incidents (id),
    host text NOT NULL,
    author text NOT NULL,
    since timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident, host, author)
);
CREATE FUNCTION warroom.publish(p_incident text, p_events jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    last bigint;
    n bigint;
    added bigint;
    e jsonb;
BEGIN
    INSERT INTO warroom.incidents (id) VALUES (p_incident) ON CONFLICT DO NOTHING;
    SELECT last_seq INTO last FROM warroom.incidents WHERE id = p_incident FOR UPDATE;
    n := last;
    FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        -- Two hosts may make the same incident id offline (same title, same minute): the
        -- second is refused rather than merged into someone else's incident.
        IF e->>'kind' = 'incident.created' AND EXISTS (
            SELECT 1 FROM warroom.events x
             WHERE x.incident = p_incident AND x.kind = 'incident.created'
               AND x.id <> (e->>'id')::uuid) THEN
            RAISE EXCEPTION 'incident % was already shared from another host; start a new one'
                ' or `warroom join` it', p_incident USING ERRCODE = 'unique_violation';
        END IF;
        INSERT INTO warroom.events (incident, seq, id, at, host, author, kind, v, data)
        VALUES (p_incident, n + 1, (e->>'id')::uuid, (e->>'at')::timestamptz,
                left(e->>'host', 200), left(e->>'author', 200), left(e->>'kind', 40),
                (e->>'v')::integer, e->'data')
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;
        n := n + added;
    END LOOP;
    IF n > last THEN
        UPDATE warroom.incidents SET last_seq = n WHERE id = p_incident;
        PERFORM pg_notify('warroom_events', p_incident || ' ' || n);
    END IF;
    RETURN n;
END
$fn$;
REVOKE ALL ON FUNCTION warroom.publish(text, jsonb) FROM PUBLIC;
""",
}

GRANTS = f"""\
-- run as the owner of the warroom schema; then GRANT {RESPONDER_ROLE} TO each responder
CREATE ROLE {RESPONDER_ROLE} NOLOGIN;
GRANT USAGE ON SCHEMA warroom TO {RESPONDER_ROLE};
GRANT SELECT ON warroom.schema_version, warroom.incidents, warroom.events TO {RESPONDER_ROLE};
GRANT SELECT, INSERT, UPDATE ON warroom.presence TO {RESPONDER_ROLE};
GRANT EXECUTE ON FUNCTION warroom.publish(text, jsonb) TO {RESPONDER_ROLE};
-- e.g. CREATE ROLE alice LOGIN IN ROLE {RESPONDER_ROLE};  (passwords via ~/.pgpass, never here)"""


class OpsError(UserError):
    """The ops database cannot be used; one line, fit for `warroom: error:` or a warning."""


class Unreachable(OpsError):
    """Could not connect, or a round trip did not come back in time: try again later."""


class NoListen(OpsError):
    """LISTEN/NOTIFY does not reach this session (a transaction pooler in between)."""


def _pg() -> Any:
    import psycopg

    return psycopg


SHARE_DSN = "the --share connection string"  # what a DsnError calls it


def where(dsn: str) -> str:
    """host:port of a DSN for messages (libpq's defaults where it says nothing)."""
    try:
        params = parse(dsn, SHARE_DSN)
    except DsnError:
        return "the ops database"
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    if host.startswith("/"):
        host = "localhost"
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    return f"{host.split(',')[0]}:{port.split(',')[0]}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def connect(dsn: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    psycopg = _pg()
    from psycopg import conninfo

    try:
        params: dict[str, Any] = parse(dsn, SHARE_DSN)  # worded without any of the DSN
    except DsnError as exc:
        raise OpsError(str(exc)) from None
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    params.setdefault("application_name", "warroom-share")
    try:
        return psycopg.connect(conninfo.make_conninfo(**params), autocommit=autocommit)
    except psycopg.Error as exc:
        raise Unreachable(f"cannot reach {where(dsn)}: {_first_line(exc)}") from None


def _sever(conn: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(Exception):
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


@contextlib.contextmanager
def deadline(conn: psycopg.Connection[Any], seconds: float = QUERY_TIMEOUT) -> Iterator[None]:
    """Cut the connection if what runs inside takes longer than ``seconds``."""
    timer = threading.Timer(seconds, _sever, (conn,))
    timer.daemon = True
    timer.start()
    try:
        yield
    except _pg().Error as exc:
        # Everything above this module sees OpsError only (and never imports psycopg).
        if conn.closed or conn.broken:
            raise Unreachable(f"lost the ops database: {_first_line(exc)}") from None
        raise OpsError(f"ops database: {_first_line(exc)}") from None
    finally:
        timer.cancel()


# -- schema ------------------------------------------------------------------------------------


def schema_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT to_regclass('warroom.schema_version') IS NOT NULL"
    ).fetchone()
    if not row or not row[0]:
        return 0
    got = conn.execute("SELECT coalesce(max(version), 0) FROM warroom.schema_version").fetchone()
    return int(got[0]) if got else 0


def init_schema(dsn: str) -> tuple[int, int]:
    """Create or upgrade the schema; returns (version before, version now). Idempotent."""
    with connect(dsn, autocommit=False) as conn, deadline(conn, 30.0):
        # One initialiser at a time; the second finds the work done.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('warroom.schema'))")
        conn.execute("CREATE SCHEMA IF NOT EXISTS warroom")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS warroom.schema_version ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            raise OpsError(
                f"the ops schema on {where(dsn)} is version {before}, newer than this warroom "
                f"({SCHEMA_VERSION}); upgrade warroom"
            )
        for version in range(before + 1, SCHEMA_VERSION + 1):
            conn.execute(_MIGRATIONS[version])
            conn.execute("INSERT INTO warroom.schema_version (version) VALUES (%s)", (version,))
        conn.commit()
    return before, SCHEMA_VERSION


def require_schema(conn: psycopg.Connection[Any], dsn: str) -> None:
    with deadline(conn):
        version = schema_version(conn)
    if version == 0:
        raise OpsError(f"{where(dsn)} has no warroom schema; run `warroom share init` once")
    if version > SCHEMA_VERSION:
        raise OpsError(
            f"the ops schema on {where(dsn)} is version {version}, newer than this warroom "
            f"({SCHEMA_VERSION}); upgrade warroom"
        )


# -- guards ------------------------------------------------------------------------------------


def identity(dsn: str) -> tuple[str | None, str | None]:
    """(system identifier, fingerprint) of the server behind ``dsn``; None where unreadable.

    pg_control_system() needs superuser or pg_monitor-like grants; the fingerprint (postmaster
    start time and port, readable by anyone) tells two servers apart when it is not allowed.
    """
    try:
        with connect(dsn) as conn, deadline(conn):
            row = conn.execute(
                "SELECT pg_postmaster_start_time()::text || '/' || current_setting('port')"
            ).fetchone()
            fingerprint = str(row[0]) if row else None
            try:
                got = conn.execute(
                    "SELECT system_identifier::text FROM pg_control_system()"
                ).fetchone()
                sysid = str(got[0]) if got else None
            except OpsError:
                sysid = None
    except OpsError:
        return None, None
    return sysid, fingerprint


def watched_refusal(watched: Sequence[str], ops: str) -> str | None:
    """Why ``ops`` must not be shared into (it is one of the ``watched`` servers), or None.

    The servers are asked side by side, the ops database once; one that cannot be read (down,
    full, unreachable) cannot be told apart, and counts as another server."""
    (mine, my_print), *theirs = _identities([ops, *watched])
    for their_id, their_print in theirs:
        same = (mine == their_id if mine and their_id
                else bool(my_print) and my_print == their_print)  # fmt: skip
        if same:
            what = f"system identifier {mine}" if mine else "same server"
            return (f"--share points at the server being watched ({where(ops)}, {what}); "
                    "use a separate ops PostgreSQL for sharing")  # fmt: skip
    return None


def refuse_watched(
    watched: Sequence[str], ops: str, wait: float = PREFLIGHT_S
) -> Future[str | None] | None:
    """Sharing into a server being watched would add load where it hurts: refuse (OpsError)
    when the servers answer within ``wait`` seconds. Past it the check goes on behind the
    dashboard, returned for the sharer to wait on before anything is shared: a watched server
    slow to accept (the outage itself) or an ops database that drops packets no longer holds
    the screen back by their connect timeouts."""
    verdict: Future[str | None] = Future()

    def run() -> None:
        try:
            verdict.set_result(watched_refusal(watched, ops))
        except BaseException as exc:  # handed to whoever waits on the verdict
            verdict.set_exception(exc)

    threading.Thread(target=run, name="warroom-share-check", daemon=True).start()
    try:
        refusal = verdict.result(timeout=wait)
    except TimeoutError:
        return verdict
    if refusal is not None:
        raise OpsError(refusal)
    return None


def _identities(dsns: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """identity() of each DSN, side by side on daemon threads: quitting never waits for one."""
    found: list[tuple[str | None, str | None]] = [(None, None)] * len(dsns)

    def one(index: int, dsn: str) -> None:
        found[index] = identity(dsn)

    threads = [threading.Thread(target=one, args=(i, dsn), name="warroom-share-check",
                                daemon=True) for i, dsn in enumerate(dsns)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def check_listen(dsn: str, wait: float = 2.0) -> None:
    """LISTEN must reach us: through PgBouncer in transaction mode it silently does not.

    The NOTIFY comes from a second connection, as another responder's would; through a
    transaction pooler the LISTEN is left on a server connection we no longer hold.
    """
    channel = f"warroom_probe_{os.getpid()}_{threading.get_ident()}"
    with connect(dsn) as listener, connect(dsn) as sender:
        with deadline(listener), deadline(sender):
            listener.execute(f"LISTEN {channel}")
            sender.execute("SELECT pg_notify(%s, 'probe')", (channel,))
        with deadline(listener, wait + 2):
            for _ in listener.notifies(timeout=wait, stop_after=1):
                return
    raise NoListen(
        f"LISTEN/NOTIFY does not get through {where(dsn)}: it looks like PgBouncer (or another "
        "pooler) in transaction mode; point --share at PostgreSQL directly or at a "
        "session-mode pool"
    )


# -- events ------------------------------------------------------------------------------------


def publish(conn: psycopg.Connection[Any], incident: str, events: list[dict[str, Any]]) -> int:
    """Insert events (ids already there are ignored); returns the incident's last sequence."""
    with deadline(conn):
        row = conn.execute(
            "SELECT warroom.publish(%s, %s::jsonb)", (incident, json.dumps(events))
        ).fetchone()
    return int(row[0]) if row else 0


def exists(conn: psycopg.Connection[Any], incident: str) -> bool:
    with deadline(conn):
        row = conn.execute("SELECT 1 FROM warroom.incidents WHERE id = %s", (incident,)).fetchone()
    return row is not None


def fetch(
    conn: psycopg.Connection[Any], incident: str, after: int, limit: int = 2000
) -> list[tuple[int, dict[str, Any]]]:
    """Events of ``incident`` with sequence above ``after``, in sequence order."""
    with deadline(conn):
        rows = conn.execute(
            "SELECT seq, json_build_object('v', v, 'id', id, 'incident', incident, 'at', at,"
            " 'host', host, 'author', author, 'kind', kind, 'data', data)::text"
            " FROM warroom.events WHERE incident = %s AND seq > %s ORDER BY seq LIMIT %s",
            (incident, after, limit),
        ).fetchall()
    out: list[tuple[int, dict[str, Any]]] = []
    for seq, text in rows:
        raw = json.loads(text)
        out.append((int(seq), raw))
    return out


def heartbeat(conn: psycopg.Connection[Any], incident: str, host: str, author: str) -> None:
    with deadline(conn):
        conn.execute(
            "INSERT INTO warroom.presence (incident, host, author) VALUES (%s, %s, %s)"
            " ON CONFLICT (incident, host, author) DO UPDATE SET last_seen = now()",
            (incident, host[:200], author[:200]),
        )


@dataclass(frozen=True, slots=True)
class Present:
    host: str
    author: str
    since: datetime
    last_seen: datetime
    age: float  # seconds since last_seen, by the ops server's clock (hosts' clocks may differ)


def presence(conn: psycopg.Connection[Any], incident: str) -> list[Present]:
    with deadline(conn):
        rows = conn.execute(
            "SELECT host, author, since, last_seen,"
            " extract(epoch FROM clock_timestamp() - last_seen)::float8"
            " FROM warroom.presence WHERE incident = %s ORDER BY since",
            (incident,),
        ).fetchall()
    return [Present(str(h), str(a), s, last, float(age)) for h, a, s, last, age in rows]


@dataclass(frozen=True, slots=True)
class Listed:
    id: str
    title: str
    severity: str
    status: str
    started_at: str
    responders: list[str]


def list_incidents(conn: psycopg.Connection[Any]) -> list[Listed]:
    """Shared incidents, newest first, with the header fields' latest values."""
    with deadline(conn, 10.0):
        rows = conn.execute(
            """
            SELECT i.id,
                   (SELECT data::text FROM warroom.events e
                     WHERE e.incident = i.id AND e.kind = 'incident.created'
                     ORDER BY seq LIMIT 1),
                   (SELECT json_object_agg(name, value)::text FROM (
                       SELECT DISTINCT ON (data->>'name') data->>'name' AS name,
                              data->'value' AS value
                         FROM warroom.events e
                        WHERE e.incident = i.id AND e.kind = 'field.set'
                          AND data->>'name' IN ('title', 'severity', 'status')
                        ORDER BY data->>'name', at DESC, id DESC) f),
                   (SELECT array_agg(CASE WHEN author LIKE '%%@%%' THEN author
                                          ELSE author || '@' || host END ORDER BY since)
                      FROM warroom.presence p WHERE p.incident = i.id)
              FROM warroom.incidents i
             ORDER BY i.created_at DESC
            """
        ).fetchall()
    out: list[Listed] = []
    for ident, created, fields, responders in rows:
        head: dict[str, Any] = json.loads(created) if created else {}
        head.update(json.loads(fields) if fields else {})
        out.append(
            Listed(
                id=str(ident),
                title=str(head.get("title", "")),
                severity=str(head.get("severity", "")),
                status=str(head.get("status", "")),
                started_at=str(head.get("started_at", "")),
                responders=[str(r) for r in responders or []],
            )
        )
    return out
