"""`warroom doctor`: the monitor role's privileges, and the SQL for each gap."""

from __future__ import annotations

import argparse
import sys

from warroom.cli.options import CliError, Subparsers, add_command


def add_doctor(subs: Subparsers) -> None:
    p = add_command(subs, "doctor",
                    "check the monitor role's privileges and print the SQL for each gap",
                    'warroom doctor --dsn "host=db1 dbname=orders user=warroom"')  # fmt: skip
    p.add_argument("--dsn", default="", help="libpq connection string or URI (default: PG* env)")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    import psycopg
    from psycopg.conninfo import make_conninfo

    from warroom.collectors.doctor import report, run_checks
    from warroom.dsn import parse
    from warroom.sanitize import one_line

    parse(args.dsn)  # a DSN libpq cannot read is worded here: libpq's message may quote it
    try:
        conninfo = make_conninfo(args.dsn, application_name="warroom-doctor")
        with psycopg.connect(conninfo, connect_timeout=10, autocommit=True) as conn:
            version = conn.info.server_version
            who = f"{conn.info.user}@{conn.info.host}:{conn.info.port}/{conn.info.dbname}"
            checks = run_checks(conn)
    except psycopg.Error as exc:
        raise CliError(f"cannot check the role: {one_line(exc, 300)}") from None
    text, code = report(checks)
    major, minor = divmod(version, 10000)
    print(f"warroom doctor: {one_line(who, 200)}, PostgreSQL {major}.{minor}")
    sys.stdout.write(text)
    return code
