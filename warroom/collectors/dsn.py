"""Connection strings as libpq reads them: the port, a default title, a server's name (the
password stripper is ``warroom.dsn.without_password``)."""

from __future__ import annotations

import os

from psycopg import conninfo

from warroom.dsn import DsnError

__all__ = ["DsnError", "db_port", "default_title", "server_name"]


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
