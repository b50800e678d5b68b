"""The dashboard's commands: `watch` live servers, `replay` a record, `demo` a drill."""

from __future__ import annotations

import argparse
from pathlib import Path

from warroom.cli.options import (
    Subparsers,
    UsageError,
    add_command,
    author,
    author_arg,
    dsns_arg,
    interval_arg,
    pgbouncer_arg,
    session_arg,
    share_arg,
    speed_type,
)


def add_watch(subs: Subparsers) -> None:
    p = add_command(subs, "watch", "open the dashboard (an existing --session is resumed)",
                    'warroom watch --dsn "host=db1 dbname=orders" --title "orders DB saturated"\n'
                    '  warroom watch --dsn "host=db1" --dsn "host=db2"     # a primary and its '
                    "replica\n"
                    "  warroom watch --target primary --target replica-1  # [[targets]] of the "
                    "config")  # fmt: skip
    dsns_arg(p, "watch several servers side by side (named host:port)", default=[])
    session_arg(p, "a new incident")
    p.add_argument("--title", help="title for a new incident")
    interval_arg(p)
    pgbouncer_arg(p)
    p.add_argument("--target", metavar="NAME", action="append", default=[],
                   help="watch the config file's [[targets]] of that name (repeatable; without "
                        "--dsn or --target, every configured target is watched)")  # fmt: skip
    author_arg(p, "who is at the keyboard", login="login")
    share_arg(p, "default: where a resumed session is shared, else $WARROOM_SHARE, else config")
    p.set_defaults(func=cmd_watch)


def add_replay(subs: Subparsers) -> None:
    p = add_command(subs, "replay", "replay a recorded incident in the dashboard (read-only)",
                    "warroom replay ~/.local/share/warroom/incidents/20261124-0900-db.toml "
                    "--at 09:40 --speed 8\n\n"
                    "keys: space play/pause, left/right 10 s, shift+left/right 1 min,\n"
                    "  [ and ] previous/next timeline entry, Home/End, + and - speed,\n"
                    "  Enter on an entry jumps to it, n adds a review note at the cursor, "
                    "q quits")  # fmt: skip
    p.add_argument("path", type=Path, metavar="PATH", help="session file")
    p.add_argument("--at", metavar="TIME",
                   help="open at this time: ISO 8601 with a zone, or HH:MM[:SS] UTC on the "
                        "incident's day (default: the start of the record)")  # fmt: skip
    p.add_argument("--speed", type=speed_type("--speed", 1000), metavar="X",
                   help="play at X times real time from the start (default: paused)")
    author_arg(p, "who writes review notes")
    p.set_defaults(func=cmd_replay)


def add_demo(subs: Subparsers) -> None:
    p = add_command(subs, "demo", "run an incident drill on a throwaway sandbox PostgreSQL",
                    "warroom demo --scenario storm")
    p.add_argument("--scenario", metavar="NAME", help="which drill (default: storm)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    author_arg(p, "who is at the keyboard", login="login")
    # Compressed timing for tests and impatient rehearsals; also $WARROOM_DRILL_SPEED.
    p.add_argument("--speed", type=float, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)


def cmd_watch(args: argparse.Namespace) -> int:
    from warroom.sessions.share import client
    from warroom.targets import choose
    from warroom.tui.launch import WatchOptions, run_watch

    if args.session is None and args.title is None:
        from warroom.recording.opener import for_watch

        # The incident the recorder opened, if it did: what the on-call engineer came for.
        args.session = for_watch(args.dsn, args.pgbouncer, args.target)
    share = client.configured_dsn(args.share)
    resumed = None
    if args.session is not None and args.session.exists():
        from warroom.sessions.store import load_header

        resumed = load_header(args.session)
        share = share or resumed.share or None
    servers = choose(args.dsn, args.pgbouncer, args.target,
                     resumed.target if resumed else None)  # fmt: skip
    first = servers[0]
    if share:
        from warroom.sessions.share import opsdb

        # Before anything is created or started: each watched server as the dashboard will
        # reach it (--dsn, else the resumed session's target, else libpq's defaults).
        for server in servers:
            opsdb.refuse_watched(server.dsn, share)
    return run_watch(
        WatchOptions(
            dsn=first.dsn,
            session=args.session,
            title=args.title,
            interval=args.interval,
            pgbouncer=first.pgbouncer or None,
            author=author(args.author),
            share=share,
            # Named on the command line, they win over what a resumed session watched.
            servers=tuple(servers) if args.dsn or args.target or len(servers) > 1 else (),
        )
    )


def cmd_replay(args: argparse.Namespace) -> int:
    from warroom.collectors.alerts import load_config
    from warroom.sessions.store import load
    from warroom.sessions.times import parse_clock, parse_time

    # The rollups stay undecoded: the first frame needs a few minutes of them, not hours.
    loaded = load(args.path, lazy=True)
    incident = loaded.incident
    at = None
    if args.at:
        # A clock time means the incident's day, not today: replays happen days later.
        at = parse_clock(args.at, incident.started_at) or parse_time(args.at)
    from warroom.tui.session import replay_session, run_dashboard

    return run_dashboard(replay_session(args.path, incident, alerts=load_config(), at=at,
                                        speed=args.speed, author=author(args.author)))  # fmt: skip


def cmd_demo(args: argparse.Namespace) -> int:
    from warroom.drill.runner import speed_from_env
    from warroom.drill.scenarios import SCENARIOS, listing

    if args.list:
        print("\n".join(listing()))
        return 0
    if args.scenario is not None and args.scenario not in SCENARIOS:
        raise UsageError(
            f"no scenario {args.scenario!r}; choose from {', '.join(SCENARIOS)} "
            "(`warroom demo --list`)"
        )
    try:
        speed = speed_from_env(args.speed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from warroom.demo import DemoOptions, run_demo

    return run_demo(DemoOptions(scenario=args.scenario, speed=speed, author=author(args.author)))
