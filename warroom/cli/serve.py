"""`warroom serve`: a read-only web page of the incident for stakeholders."""

from __future__ import annotations

import argparse

from warroom.cli.options import (
    Subparsers,
    UsageError,
    add_command,
    resolve_session,
    session_arg,
)
from warroom.cli.output import share_warnings_to_stderr


def add_serve(subs: Subparsers) -> None:
    p = add_command(subs, "serve", "serve a read-only web page of the incident for stakeholders",
                    "warroom serve --bind 0.0.0.0:8765 --token generate")
    p.epilog += (
        "\n\nloopback (127.0.0.0/8, ::1, localhost) needs no token. Any other address needs one:"
        "\n--token generate makes one and prints it once at start; --token TOKEN (16+ characters)"
        "\nuses yours. Without either, a non-loopback --bind is refused. Viewers pass it once as"
        "\n?token=... (then kept in a cookie) or as an `Authorization: Bearer` header."
    )
    session_arg(p, "the newest unresolved session")
    p.add_argument("--share", metavar="DSN",
                   help="the ops database of a shared incident (with --incident; default "
                        "$WARROOM_SHARE, else [share] dsn in the config file)")  # fmt: skip
    p.add_argument("--incident", metavar="ID", help="the shared incident's id (with --share)")
    p.add_argument("--bind", metavar="HOST:PORT",
                   help="where to listen (default: 127.0.0.1:8765; port 0 picks a free one)")
    p.add_argument("--token", metavar="TOKEN",
                   help="token viewers must give; `generate` makes one (needed off loopback)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from warroom.web.access import decide, parse_bind
    from warroom.web.run import require_extra, run

    shared = args.share is not None or args.incident is not None
    if shared:
        if args.session is not None:
            raise UsageError("give --session PATH or --share DSN --incident ID, not both")
        if args.incident is None:
            raise UsageError("--share DSN and --incident ID go together")
    bind = parse_bind(args.bind)
    access = decide(bind, args.token)
    require_extra()
    from warroom.web.feed import FileFollower

    if not shared:
        return run(FileFollower(resolve_session(args.session)), bind, access)
    # A shared incident: this host's copy (made or caught up by join), kept in step with the
    # ops database by a Sharer, and served like any session file. Nothing is published from
    # here: the page has no way to change the record.
    from warroom.sessions.share import client
    from warroom.sessions.share.sharer import Sharer
    from warroom.sessions.store import Store

    dsn = client.configured_dsn(args.share)
    if not dsn:
        raise UsageError("serve --incident needs the ops database: --share DSN (or $WARROOM_SHARE)")
    share_warnings_to_stderr()
    author = "stakeholder page"
    path = client.join(args.incident, dsn, client.host_name(), author)
    # The page reads the file itself; the Sharer only adds others' entries and changes.
    store = Store.open(path, lazy=True)
    sharer = Sharer(store, dsn, host=client.host_name(), author=author).start()
    try:
        return run(FileFollower(path), bind, access)
    finally:
        sharer.stop()
