"""Connection strings as libpq reads them: without the password, the port, a default title."""

from __future__ import annotations

import os

from psycopg import conninfo

from warroom.errors import UserError


class DsnError(UserError):
    """A connection string libpq cannot read; one line for the user."""


def redact(dsn: str) -> str:
    """The DSN without its password, in libpq's keyword form (URIs included)."""
    if not dsn:
        return ""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg raises ProgrammingError for a malformed DSN
        raise DsnError(f"cannot read the connection string: {_first_line(exc)}") from None
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


def server_name(dsn: str) -> str:
    """What a server is called on the strip and the timeline when ``--dsn`` gives no name:
    ``host:port`` (the socket directory's last part for a Unix socket)."""
    try:
        params = conninfo.conninfo_to_dict(dsn) if dsn else {}
    except Exception:
        params = {}
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost").split(",")[0]
    if host.startswith("/"):
        host = host.rstrip("/").rsplit("/", 1)[-1] or "socket"
    return f"{host}:{db_port(dsn)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
