"""Where the server's log is, and which way warroom may read it: the probe behind the reader
and behind `warroom doctor`'s server-log check.

Asked of the server, never guessed: ``log_destination``, ``logging_collector``,
``log_line_prefix``, ``data_directory`` and ``pg_current_logfile()``. The file is read directly
only when this host holds that very server: its data directory's ``postmaster.pid`` names the
same directory, port and start time (a remote server with the same paths is not mistaken for
it). Otherwise the server reads it for us (``pg_ls_logdir()`` and ``pg_read_binary_file()``,
when this role may call them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from warroom.collectors import pg_queries_serverlog
from warroom.collectors.serverlog.parse import FORMATS

READ_GRANT = "GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO {};"
Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class Location:
    """A readable log (``source`` set) or what is missing (``source`` None, ``missing``)."""

    source: str | None  # "file" or "pg_read_file"
    format: str | None = None  # "stderr", "csvlog" or "jsonlog"
    path: str | None = None  # as the server names it (relative to data_directory, or absolute)
    local_path: Path | None = None  # the file on this host, for source "file"
    data_dir: Path | None = None
    line_prefix: str = ""
    listed_in: str | None = None  # log_directory, when the current file comes from pg_ls_logdir
    missing: str = ""
    fix: str = ""


def _ident(name: str) -> str:
    return sql.Identifier(name).as_string(None)


def same_server(data_dir: Path, port: int, started: float) -> bool:
    """This host holds the server: its postmaster.pid names the directory, port, start time."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    try:
        return (Path(lines[1]) == data_dir and int(lines[3]) == port
                and abs(int(lines[2]) - started) <= 2)  # fmt: skip
    except (IndexError, ValueError):
        return False


# The server's own naming of each format's files (.csv, .json), for NEWEST_SQL.
_SUFFIX = {"csvlog": r"[.]csv$", "jsonlog": r"[.]json$", "stderr": ""}


def current_logfile(conn: Conn, fmt: str, log_directory: str | None = None) -> str | None:
    """The file the server writes ``fmt`` to now: from pg_current_logfile(), or when
    ``log_directory`` is given (no EXECUTE on it), the newest such file in pg_ls_logdir()."""
    if log_directory is None:
        row = conn.execute(pg_queries_serverlog.CURRENT_SQL, (fmt,)).fetchone()
        return str(row[0]) if row and row[0] else None
    row = conn.execute(pg_queries_serverlog.NEWEST_SQL, (fmt != "stderr", _SUFFIX[fmt])).fetchone()
    return f"{log_directory.rstrip('/')}/{row[0]}" if row else None


def local_current_logfile(data_dir: Path, fmt: str) -> str | None:
    """The server's ``current_logfiles`` on this host, for ``fmt`` (no query needed)."""
    try:
        text = (data_dir / "current_logfiles").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, path = line.partition(" ")
        if name == fmt and path:
            return path
    return None


def resolve(data_dir: Path | None, path: str) -> Path | None:
    if os.path.isabs(path):
        return Path(path)
    return data_dir / path if data_dir is not None else None


def locate(conn: Conn, *, local_files: bool = True) -> Location:
    """Find the log and the way to read it; one probe query and one per log format."""
    row = conn.execute(pg_queries_serverlog.PROBE_SQL).fetchone()
    assert row is not None
    user, collector, destination, prefix, log_dir, data_dir_s, port, started, can_current, \
        can_ls, can_read = row  # fmt: skip
    if destination is None or collector is None or prefix is None or log_dir is None:
        return Location(None, missing="this role may not read the logging settings",
                        fix=f"GRANT pg_monitor TO {_ident(str(user))};")
    destinations = [d.strip().lower() for d in str(destination).split(",")]
    formats = [f for f in FORMATS if f in destinations]
    data_dir = Path(data_dir_s) if data_dir_s else None
    if collector != "on":
        if not formats:
            return Location(None, missing=f"log_destination is '{destination}': warroom reads "
                            "only stderr, csvlog or jsonlog files",
                            fix="ALTER SYSTEM SET log_destination = 'stderr'; ALTER SYSTEM SET "
                            "logging_collector = on;  -- then restart the server")  # fmt: skip
        return Location(None, missing=(
            f"log_destination={destination} with logging_collector=off: the server writes no "
            "log file of its own (its stderr goes wherever it was started)"),
            fix="ALTER SYSTEM SET logging_collector = on;  -- then restart the server")  # fmt: skip
    if not formats:
        return Location(None, missing=f"log_destination is '{destination}': warroom reads only "
                        "stderr, csvlog or jsonlog files",
                        fix="ALTER SYSTEM SET log_destination = 'stderr';  -- then SELECT "
                        "pg_reload_conf()")  # fmt: skip
    if not can_current and not can_ls:
        return Location(None, missing="this role may not ask the server for its log files "
                        "(pg_ls_logdir)", fix=f"GRANT pg_monitor TO {_ident(str(user))};")
    listed = None if can_current else str(log_dir)
    path = fmt = None
    for candidate in formats:
        path = current_logfile(conn, candidate, listed)
        if path:
            fmt = candidate
            break
    if path is None or fmt is None:
        return Location(None, missing="the server names no current log file (logging_collector "
                        "set but not in effect yet?)",
                        fix="-- restart the server for logging_collector to take effect")
    local = resolve(data_dir, path)
    if (local_files and data_dir is not None and local is not None
            and same_server(data_dir, int(port), float(started))
            and os.access(local, os.R_OK)):  # fmt: skip
        return Location("file", fmt, path, local, data_dir, str(prefix), listed)
    if can_ls and can_read:
        return Location("pg_read_file", fmt, path, None, data_dir, str(prefix), listed)
    fixes = [READ_GRANT.format(_ident(str(user)))]
    if not can_ls:
        fixes.insert(0, f"GRANT pg_monitor TO {_ident(str(user))};")
    where = ("local files are turned off" if not local_files else
             f"{path} is not readable on this host")  # fmt: skip
    return Location(None, fmt, path, missing=f"cannot read the server log: {where}, and this "
                    "role may not read it through the server (pg_read_binary_file)",
                    fix=" ".join(fixes))  # fmt: skip
