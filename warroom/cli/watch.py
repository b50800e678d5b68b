"""The dashboard's commands: `watch` live servers, `replay` a record, `demo` a drill."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from warroom.recording.store_api import StoreSpec


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
    from warroom.cli.record import store_arg

    p = add_command(subs, "replay", "replay a recorded incident in the dashboard (read-only)",
                    "warroom replay ~/.local/share/warroom/incidents/20261124-0900-db.toml "
                    "--at 09:40 --speed 8\n"
                    "  warroom replay --recorder --at 03:10 --target primary  # no incident\n\n"
                    "keys: space play/pause, left/right 10 s, shift+left/right 1 min,\n"
                    "  [ and ] previous/next timeline entry, Home/End, + and - speed,\n"
                    "  Enter on an entry jumps to it, n adds a review note at the cursor, "
                    "q quits;\n"
                    "  b the backends at the cursor when the recorder's frames are there;\n"
                    "  with --recorder, n starts an incident whose impact began at the cursor")
    p.add_argument("path", type=Path, metavar="PATH", nargs="?", help="session file")
    p.add_argument("--recorder", action="store_true",
                   help="browse the flight recorder's history instead of a session")
    p.add_argument("--target", metavar="NAME",
                   help="with --recorder: the server to browse, as the store names it "
                        "(default: the store's only server)")  # fmt: skip
    store_arg(p)
    p.add_argument("--at", metavar="TIME",
                   help="open at this time: ISO 8601 with a zone, or HH:MM[:SS] UTC on the "
                        "incident's day (default: the start of the record); with --recorder, "
                        "the latest such time the store keeps (default: the newest "
                        "moment)")  # fmt: skip
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
    check = None
    if share:
        from warroom.sessions.share import opsdb

        # Before anything is created or started: each watched server as the dashboard will
        # reach it (--dsn, else the resumed session's target, else libpq's defaults). Servers
        # slow to answer leave the verdict to the sharer, which shares nothing until it has it.
        check = opsdb.refuse_watched([server.dsn for server in servers], share)
    return run_watch(
        WatchOptions(
            dsn=first.dsn,
            session=args.session,
            title=args.title,
            interval=args.interval,
            pgbouncer=first.pgbouncer or None,
            author=author(args.author),
            share=share,
            share_check=check,
            # Named on the command line, they win over what a resumed session watched.
            servers=tuple(servers) if args.dsn or args.target or len(servers) > 1 else (),
        )
    )


def _recorder_store(given: StoreSpec | None) -> StoreSpec:
    from warroom.config import read_config
    from warroom.recording.settings import parse_record

    return given or parse_record(read_config()).store_spec()  # --store: no config read


def cmd_replay(args: argparse.Namespace) -> int:
    from warroom.collectors.alerts import load_config
    from warroom.sessions.store import load
    from warroom.sessions.times import parse_clock, parse_time

    if args.recorder:
        if args.path is not None:
            raise UsageError("give a session PATH or --recorder, not both")
        if args.speed is not None:
            raise UsageError("--speed is for a session's replay; --recorder opens paused")
        return _browse_recorder(args)
    if args.path is None:
        raise UsageError("a session PATH (or --recorder for the recorder's history) is needed")
    if args.target is not None:
        raise UsageError("--target is for --recorder (a session replays what it watched)")

    # The rollups stay undecoded: the first frame needs a few minutes of them, not hours.
    loaded = load(args.path, lazy=True)
    incident = loaded.incident
    at = None
    if args.at:
        # A clock time means the incident's day, not today: replays happen days later.
        at = parse_clock(args.at, incident.started_at) or parse_time(args.at)
    from warroom.config import ConfigError
    from warroom.recording.browse import frames_for
    from warroom.tui.session import replay_session, run_dashboard

    try:
        host_store: Path | None = _recorder_store(args.store)
    except ConfigError:  # frames are extra: a broken [record] never stops a replay
        host_store = args.store
    frames = frames_for(args.path, incident, host_store)
    return run_dashboard(replay_session(args.path, incident, alerts=load_config(), at=at,
                                        speed=args.speed, author=author(args.author),
                                        frames=frames))  # fmt: skip


def _browse_recorder(args: argparse.Namespace) -> int:
    from warroom.collectors.alerts import load_config
    from warroom.config import read_config
    from warroom.dsn import without_password
    from warroom.recording.browse import moment_in, open_history
    from warroom.recording.settings import parse_record
    from warroom.targets import load_targets
    from warroom.tui.session import history_session, run_dashboard

    settings = parse_record(read_config())
    store = _recorder_store(args.store)
    # A [[targets]] name is also the recorder's name for that server: its DSN (no password)
    # is what an incident started here watches.
    named = next((t for t in load_targets() if t.name == args.target), None)
    dsn = without_password(named.dsn) if named is not None else ""
    history = open_history(store, args.target, dsn)
    at = moment_in(history, args.at)
    started: list[Path] = []
    status = run_dashboard(history_session(history, at=at, alerts=load_config(),
                                           lead_s=settings.lead_up_s, started=started))  # fmt: skip
    for path in started:
        print(path, flush=True)
    return status


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
