"""Connection strings as libpq reads them: the port, a default title, a server's name (the
password stripper is ``warroom.dsn.without_password``).

psycopg is imported when a DSN is read, not with this module: a replay names its servers
through here (``server_name`` by way of the recorder's exports) and has no DSN to read, and
psycopg's import was a fifth of its first frame.
"""

from __future__ import annotations

import os
from typing import Any

from warroom.dsn import DsnError

__all__ = ["DsnError", "db_port", "default_title", "server_name"]


def _params(dsn: str) -> dict[str, Any]:
    """libpq's reading of ``dsn``; {} for "" and for what libpq cannot read (the callers fall
    back to libpq's defaults: the DSN's own errors are worded where it is checked)."""
    if not dsn:
        return {}
    try:
        from psycopg import conninfo

        return conninfo.conninfo_to_dict(dsn)
    except Exception:
        return {}


def db_port(dsn: str) -> int:
    """The port the database listens on, as libpq would choose it (for the host pane)."""
    port = _params(dsn).get("port") or os.environ.get("PGPORT") or "5432"
    try:
        return int(str(port).split(",")[0])
    except ValueError:
        return 5432


def default_title(dsn: str) -> str:
    params = _params(dsn)
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    db = params.get("dbname") or os.environ.get("PGDATABASE") or ""
    where = f"{db}@{host}" if db else str(host)
    return f"PostgreSQL incident on {where}"


def server_name(dsn: str) -> str:
    """What a server is called on the strip and the timeline when ``--dsn`` gives no name:
    ``host:port`` (the socket directory's last part for a Unix socket)."""
    params = _params(dsn)
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost").split(",")[0]
    if host.startswith("/"):
        host = host.rstrip("/").rsplit("/", 1)[-1] or "socket"
    return f"{host}:{db_port(dsn)}"
