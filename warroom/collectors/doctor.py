"""`warroom doctor`: is the monitor's role ready for a bad day? Each gap comes with its fix.

Checked on the server itself (``pg_has_role``, settings, ``pg_extension``), never guessed:
- pg_monitor (required): read every session's query, state and waits, not only its own;
- pg_signal_backend (required): cancel/terminate from the backends view;
- pg_use_reserved_connections (required on 16+) and ``reserved_connections`` > 0: a way in when
  every ordinary slot is taken;
- pg_stat_statements (recommended): the statement findings.
- the server log (recommended): read on this host, or through ``pg_read_binary_file()``; else
  the setting or GRANT that gives it (refusals, auth failures and kills are only there).
What the server's version cannot offer (reserved connections before 16) is a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import psycopg
from psycopg import sql

from warroom.collectors import pg_queries
from warroom.collectors.serverlog import locate
from warroom.sanitize import one_line


class Level(StrEnum):
    OK = "ok"
    GAP = "GAP"  # required and missing: exit 1
    WARN = "warn"  # recommended, or not possible on this version


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    level: Level
    text: str
    fix: str = ""  # SQL to run as a superuser


def _grant(role: str, user: str) -> str:
    return f"GRANT {role} TO {sql.Identifier(user).as_string(None)};"


def run_checks(conn: psycopg.Connection[tuple[object, ...]]) -> list[Check]:
    row = conn.execute(pg_queries.DOCTOR_CHECK_SQL).fetchone()
    assert row is not None
    user, version, superuser, monitor, signal, reserved_role, reserved, pgss, preload, db = row
    user, db = str(user), str(db)
    checks: list[Check] = []

    def role(name: str, has: object, why: str) -> None:
        if has:
            checks.append(Check(name, Level.OK, f"{name}: yes ({why})"))
        else:
            checks.append(Check(name, Level.GAP, f"{name}: missing, so warroom cannot {why}",
                                _grant(name, user)))  # fmt: skip

    role("pg_monitor", monitor, "see every session's query, state and waits")
    role("pg_signal_backend", signal, "cancel or terminate backends from the backends view")
    if int(str(version)) >= 160000:
        role("pg_use_reserved_connections", reserved_role,
             "get in through reserved_connections when the server is full")  # fmt: skip
        if int(str(reserved or 0)) > 0:
            checks.append(Check("reserved_connections", Level.OK,
                                f"reserved_connections: {reserved} slots kept for such roles"))
        else:
            checks.append(Check(
                "reserved_connections", Level.WARN,
                "reserved_connections is 0: no slot is kept for the monitor (takes a restart)",
                "ALTER SYSTEM SET reserved_connections = 3;  -- then restart the server",
            ))  # fmt: skip
    elif superuser:
        checks.append(Check("reserved_connections", Level.OK,
                            "superuser: superuser_reserved_connections lets it in"))
    else:
        checks.append(Check(
            "reserved_connections", Level.WARN,
            f"PostgreSQL {int(str(version)) // 10000} has no reserved_connections (16+): when "
            "every slot is taken the monitor waits for one to free; on the database host "
            "warroom counts backends from their process titles meanwhile",
        ))  # fmt: skip
    preloaded = preload is None or "pg_stat_statements" in str(preload)
    if pgss is not None and preloaded:
        checks.append(Check("pg_stat_statements", Level.OK,
                            f"pg_stat_statements {pgss}: the top statements are known"))
    else:
        fixes = []
        if not preloaded:
            fixes.append("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';"
                         "  -- keep any libraries already listed; then restart")  # fmt: skip
        if pgss is None:
            fixes.append(f"CREATE EXTENSION pg_stat_statements;  -- in database {db}")
        if preload is None:
            fixes.append("-- shared_preload_libraries must list pg_stat_statements too (this "
                         "role cannot read it without pg_read_all_settings)")  # fmt: skip
        checks.append(Check(
            "pg_stat_statements", Level.WARN,
            "pg_stat_statements is not "
            + ("installed" if pgss is None else "in shared_preload_libraries")
            + ": no statement findings",
            "\n".join(fixes),
        ))  # fmt: skip
    checks.append(_server_log(conn))
    return checks


_STATEMENTS = re.compile(r"; (?=GRANT |ALTER )")  # one statement a fix line


def _server_log(conn: psycopg.Connection[tuple[object, ...]]) -> Check:
    where = locate(conn)
    if where.source == "file":
        return Check("server log", Level.OK, f"server log: read on this host "
                     f"({where.format}, {one_line(where.local_path, 200)})")  # fmt: skip
    if where.source == "pg_read_file":
        return Check("server log", Level.OK, f"server log: read through the server "
                     f"({where.format}, pg_read_binary_file)")  # fmt: skip
    return Check("server log", Level.WARN,
                 f"server log: {one_line(where.missing, 300)}; refused connections, "
                 "authentication failures and killed sessions go uncounted",
                 _STATEMENTS.sub(";\n", where.fix))  # fmt: skip


def report(checks: list[Check]) -> tuple[str, int]:
    """The text to print and the exit status (1 while a required gap remains)."""
    lines: list[str] = []
    for check in checks:
        lines.append(f"{check.level.value:<5} {check.text}")
        for fix in check.fix.splitlines():
            lines.append(f"      fix: {fix}")
    gaps = sum(1 for c in checks if c.level is Level.GAP)
    warns = sum(1 for c in checks if c.level is Level.WARN)
    if gaps:
        lines.append(f"{gaps} gap(s), {warns} warning(s): run the fixes as a superuser")
    else:
        lines.append(f"the role is ready ({warns} warning(s))")
    return "\n".join(lines) + "\n", 1 if gaps else 0
