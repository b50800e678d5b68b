"""`warroom sample --json`: live samples as JSON lines (each line made in collectors/headless)."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing

from warroom.cli.options import (
    Subparsers,
    add_command,
    count_type,
    dsns_arg,
    interval_arg,
    pgbouncer_arg,
)


def add_sample(subs: Subparsers) -> None:
    p = add_command(subs, "sample", "print live samples as JSON lines (headless)",
                    'warroom sample --dsn "host=127.0.0.1 dbname=postgres" --count 5 --json\n'
                    '  warroom sample --dsn "host=db1" --dsn "host=db1-replica" --json\n\n'
                    "each line is one server's sample; with several --dsn it names the server in\n"
                    '"server" (host:port, -2, -3 ... added when two are alike). Each server is '
                    "polled\n"
                    "on its own, so one that stops answering never delays the others' lines.\n"
                    '"role" and "replication" say where it stands: a primary\'s standbys and '
                    "slots,\n"
                    "a replica's lag, replay pause and upstream. With --pgbouncer the line has a\n"
                    '"pgbouncer" object: its pools, and who waits in them.')  # fmt: skip
    dsns_arg(p, "sample several servers side by side", default=None)
    pgbouncer_arg(p)
    p.add_argument("--count", type=count_type("--count", 1), metavar="N",
                   help="stop after N samples of each server (default: forever)")
    interval_arg(p)
    p.add_argument("--json", action="store_true", required=True,
                   help="one JSON object per line (the only output format)")  # fmt: skip
    p.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    from warroom.collectors.alerts import load_config
    from warroom.collectors.headless import ServerLines, sample_lines
    from warroom.collectors.pgbouncer import PgBouncerCollector
    from warroom.collectors.postgres import PostgresCollector
    from warroom.targets import names_of, paired

    findings = load_config().findings  # a broken config fails here, before any thread
    dsns: list[str] = args.dsn or [""]
    bouncer_dsns = paired(args.dsn or [], args.pgbouncer)
    # The name only appears with several servers: one server's lines keep the original keys.
    names: list[str | None] = list(names_of(dsns)) if len(dsns) > 1 else [None]
    servers = [
        ServerLines(PostgresCollector(d, interval=args.interval),
                    PgBouncerCollector(b, budget=args.interval * 0.8) if b else None,
                    name, findings, d)
        for d, b, name in zip(dsns, bouncer_dsns, names, strict=True)
    ]  # fmt: skip
    # The one writer: whole lines, in the order the servers finished them, each flushed at
    # once so a script piping us sees it as it lands.
    with closing(sample_lines(servers, args.interval, args.count)) as lines:
        for line in lines:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    return 0
