"""`warroom watch`: open or resume a session, start the collectors, run the dashboard."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from psycopg import conninfo

from warroom.collectors.alerts import AlertConfig, load_config
from warroom.collectors.host import HostCollector
from warroom.errors import UserError
from warroom.sessions.model import Incident, Target
from warroom.sessions.paths import new_session_path
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow


class LaunchError(UserError):
    """Cannot start the dashboard; one line for the user."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    dsn: str
    session: Path | None
    title: str | None
    interval: float
    pgbouncer: str | None
    author: str


def redact(dsn: str) -> str:
    """The DSN without its password, in libpq's keyword form (URIs included)."""
    if not dsn:
        return ""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg raises ProgrammingError for a malformed DSN
        raise LaunchError(f"cannot read the connection string: {_first_line(exc)}") from None
    params.pop("password", None)
    return conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


def db_port(dsn: str) -> int:
    """The port the database listens on, as libpq would choose it (for the host pane)."""
    try:
        port = conninfo.conninfo_to_dict(dsn).get("port") if dsn else None
    except Exception:
        port = None
    port = port or os.environ.get("PGPORT") or "5432"
    try:
        return int(str(port).split(",")[0])
    except ValueError:
        return 5432


def default_title(dsn: str) -> str:
    try:
        params = conninfo.conninfo_to_dict(dsn) if dsn else {}
    except Exception:
        params = {}
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    db = params.get("dbname") or os.environ.get("PGDATABASE") or ""
    where = f"{db}@{host}" if db else str(host)
    return f"PostgreSQL incident on {where}"


def open_store(options: WatchOptions) -> Store:
    if options.session is not None and options.session.exists():
        return Store.open(options.session)
    target = Target(dsn=redact(options.dsn), pgbouncer=redact(options.pgbouncer or ""))
    title = options.title or default_title(options.dsn)
    incident = Incident.create(title, utcnow(), target=target)
    path = options.session or new_session_path(incident.id)
    return Store.create(path, incident)


def run_watch(options: WatchOptions) -> int:
    from warroom.collectors.postgres import PostgresCollector
    from warroom.tui.app import WarroomApp
    from warroom.tui.backends import backends_screen_factory

    if options.interval < 0.2:
        raise LaunchError("--interval must be at least 0.2 seconds")
    alerts: AlertConfig = load_config()
    redact(options.dsn)  # a malformed DSN is reported before anything is created
    store = open_store(options)
    # Resuming without --dsn watches what the session watched (libpq finds the password).
    dsn = options.dsn or store.incident.target.dsn
    postgres = PostgresCollector(dsn, interval=options.interval)
    bouncer = None
    if options.pgbouncer:
        from warroom.collectors.pgbouncer import PgBouncerCollector

        bouncer = PgBouncerCollector(options.pgbouncer, budget=options.interval * 0.8)
    app = WarroomApp(
        store,
        postgres=postgres,
        host=HostCollector(db_port(dsn)),
        bouncer=bouncer,
        interval=options.interval,
        alerts=alerts,
        author=options.author,
        backends_factory=backends_screen_factory(postgres),
    )
    app.run()
    print(store.path)
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
