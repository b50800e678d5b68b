"""Sharing's own commands: `join` a shared incident, `share init` the ops database."""

from __future__ import annotations

import argparse

from warroom.cli.options import (
    SHARE_CONFIGURED,
    Parser,
    Subparsers,
    UsageError,
    add_command,
    author,
    author_arg,
    share_arg,
)


def add_join(subs: Subparsers) -> None:
    p = add_command(subs, "join", "make the local copy of a shared incident and print its path",
                    'warroom join 20261124-0900-orders-db --share "host=ops.internal '
                    'dbname=warroom"')  # fmt: skip
    p.add_argument("incident", metavar="ID", help="the incident id (`warroom sessions --share`)")
    share_arg(p, SHARE_CONFIGURED)
    author_arg(p, "who joins")
    p.set_defaults(func=cmd_join)


def add_share(subs: Subparsers) -> None:
    p = add_command(subs, "share", "set up the ops database that shared incidents go through",
                    'warroom share init --share "host=ops.internal dbname=warroom"')
    actions = p.add_subparsers(dest="share_command", metavar="ACTION", parser_class=Parser)
    q = add_command(actions, "init", "create or upgrade the ops schema; print the grants",
                    'warroom share init --share "host=ops.internal dbname=warroom"')
    share_arg(q, SHARE_CONFIGURED)
    q.set_defaults(func=cmd_share_init)
    p.set_defaults(func=_needs_an_action)


def _needs_an_action(_args: argparse.Namespace) -> int:
    raise UsageError("share needs an action: init")


def cmd_join(args: argparse.Namespace) -> int:
    from warroom.sessions.share import client
    from warroom.sessions.store import load_header

    dsn = client.configured_dsn(args.share)
    if not dsn:
        local = client.local_copy(args.incident)
        dsn = load_header(local).share if local is not None else None
    if not dsn:
        raise UsageError("join needs the ops database: --share DSN (or $WARROOM_SHARE)")
    who = client.qualified(author(args.author))
    print(client.join(args.incident, dsn, client.host_name(), who))
    return 0


def cmd_share_init(args: argparse.Namespace) -> int:
    from warroom.sessions.share import client, opsdb

    dsn = client.configured_dsn(args.share)
    if not dsn:
        raise UsageError("share init needs the ops database: --share DSN (or $WARROOM_SHARE)")
    opsdb.check_listen(dsn)
    before, now = opsdb.init_schema(dsn)
    if before == now:
        done = f"already at version {now}"
    elif before == 0:
        done = f"created, version {now}"
    else:
        done = f"upgraded from version {before} to {now}"
    print(f"ops schema on {opsdb.where(dsn)}: {done}")
    print("grants for responders (run once as the schema's owner):")
    print(opsdb.GRANTS)
    return 0
