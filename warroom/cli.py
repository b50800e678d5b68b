"""The `warroom` command: argparse front door to every subcommand (contract in DESIGN.md).

Errors are one line ``warroom: error: ...`` on stderr: exit 1 for a failure, 2 for bad usage.
No traceback reaches the user unless ``WARROOM_DEBUG=1`` asks for it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from warroom import __version__
from warroom.errors import UserError
from warroom.sessions.model import (
    SEVERITIES,
    Incident,
    Kind,
    ModelError,
    Source,
    Status,
    TimelineEntry,
)
from warroom.sessions.times import TimeError, format_utc, parse_past_time, parse_time, utcnow

if TYPE_CHECKING:
    from warroom.sessions.share.outbox import Outbox

PROG = "warroom"


class CliError(UserError):
    """A failure to report in one line, exit 1."""


class UsageError(Exception):
    """Bad usage, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in the contract's one-line form."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def _add(
    subs: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    summary: str,
    example: str,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subs.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=_Formatter,
    )
    return parser


def _session_arg(parser: argparse.ArgumentParser, default_note: str) -> None:
    parser.add_argument(
        "--session",
        metavar="PATH",
        type=Path,
        help=f"session file (default: {default_note})",
    )


def _share_arg(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument(
        "--share",
        metavar="DSN",
        help=f"ops PostgreSQL to share through (libpq DSN; {meaning})",
    )


def _time_arg(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument(
        "--at",
        metavar="TIME",
        help=f"{meaning}: ISO 8601 with a zone, or HH:MM[:SS] meaning UTC today (default: now)",
    )


def _seconds(text: str) -> float:
    """An interval in seconds: a finite number above 0 (``nan`` and ``inf`` are floats too)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "A terminal war room for PostgreSQL incidents: live connections and latency, an "
            "incident clock, a timeline that is on disk the moment you press Enter, and the "
            "postmortem draft."
        ),
        epilog=(
            "sessions live in $WARROOM_HOME, else ~/.local/share/warroom/incidents.\n"
            "`note` and `status` use the newest unresolved session unless --session is given."
        ),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _add(subs, "new", "create an incident and print its session file's path",
             'warroom new --title "orders DB refusing connections" --severity SEV1 --at 09:00')
    _session_arg(p, "a new file in the sessions directory")
    p.add_argument("--title", required=True, help="what is happening, in a few words")
    p.add_argument("--severity", default="SEV2", choices=SEVERITIES,
                   help="SEV1 (worst) .. SEV4 (default: SEV2)")
    _time_arg(p, "impact start")
    _share_arg(p, "default: $WARROOM_SHARE, else [share] dsn in the config file")
    p.add_argument("--author", help="who opens it (default: $WARROOM_AUTHOR, else your login)")
    p.set_defaults(func=cmd_new)

    p = _add(subs, "join", "make the local copy of a shared incident and print its path",
             'warroom join 20261124-0900-orders-db --share "host=ops.internal dbname=warroom"')
    p.add_argument("incident", metavar="ID", help="the incident id (`warroom sessions --share`)")
    _share_arg(p, "default: $WARROOM_SHARE, else [share] dsn in the config file")
    p.add_argument("--author", help="who joins (default: $WARROOM_AUTHOR, else your login)")
    p.set_defaults(func=cmd_join)

    p = _add(subs, "share", "set up the ops database that shared incidents go through",
             'warroom share init --share "host=ops.internal dbname=warroom"')
    share_subs = p.add_subparsers(dest="share_command", metavar="ACTION", parser_class=_Parser)
    q = _add(share_subs, "init", "create or upgrade the ops schema; print the grants",
             'warroom share init --share "host=ops.internal dbname=warroom"')
    _share_arg(q, "default: $WARROOM_SHARE, else [share] dsn in the config file")
    q.set_defaults(func=cmd_share_init)
    p.set_defaults(func=lambda _args: _usage("share needs an action: init"))

    p = _add(subs, "note", "append an entry to the incident timeline and print its id",
             'warroom note --kind action "raised shop-api pool max to 20, rolling restart"')
    _session_arg(p, "the newest unresolved session")
    _time_arg(p, "when it happened")
    p.add_argument("--kind", default="note", choices=[k.value for k in Kind],
                   help="entry kind (default: note)")
    p.add_argument("--author", help="who writes it (default: $WARROOM_AUTHOR, else your login)")
    p.add_argument("text", nargs="+", metavar="TEXT", help="the entry's text")
    _share_arg(p, "default: where the session is shared; given for an unshared one, shares it")
    p.set_defaults(func=cmd_note)

    p = _add(subs, "status", "change the incident's status and log it on the timeline",
             "warroom status identified --at 10:30")
    _session_arg(p, "the newest unresolved session")
    p.add_argument("status", choices=[s.value for s in Status], metavar="STATUS",
                   help="investigating, identified, monitoring or resolved")
    _time_arg(p, "when the status changed")
    p.add_argument("--author", help="who changes it (default: $WARROOM_AUTHOR, else your login)")
    _share_arg(p, "default: where the session is shared; given for an unshared one, shares it")
    p.set_defaults(func=cmd_status)

    p = _add(subs, "postmortem", "write the postmortem draft (Markdown) for a session",
             "warroom postmortem ~/.local/share/warroom/incidents/20261124-0900-db.toml -o pm.md")
    p.add_argument("path", type=Path, metavar="PATH", help="session file")
    p.add_argument("-o", "--output", type=Path, metavar="OUT",
                   help="write the draft here (default: standard output)")
    p.add_argument("--pictures", action="store_true",
                   help="also save SVG pictures of the dashboard at the peak-saturation and "
                        "peak-latency windows beside the draft, linked from ## Metrics "
                        "(needs -o)")
    p.set_defaults(func=cmd_postmortem)

    p = _add(subs, "replay", "replay a recorded incident in the dashboard (read-only)",
             "warroom replay ~/.local/share/warroom/incidents/20261124-0900-db.toml "
             "--at 09:40 --speed 8\n\n"
             "keys: space play/pause, left/right 10 s, shift+left/right 1 min,\n"
             "  [ and ] previous/next timeline entry, Home/End, + and - speed,\n"
             "  Enter on an entry jumps to it, n adds a review note at the cursor, q quits")
    p.add_argument("path", type=Path, metavar="PATH", help="session file")
    p.add_argument("--at", metavar="TIME",
                   help="open at this time: ISO 8601 with a zone, or HH:MM[:SS] UTC on the "
                        "incident's day (default: the start of the record)")
    p.add_argument("--speed", type=float, metavar="X",
                   help="play at X times real time from the start (default: paused)")
    p.add_argument("--author", help="who writes review notes (default: $WARROOM_AUTHOR, else "
                                    "your login)")
    p.set_defaults(func=cmd_replay)

    p = _add(subs, "check", "validate a session file; exit 1 when it is broken",
             "warroom check ~/.local/share/warroom/incidents/20261124-0900-db.toml")
    p.add_argument("path", type=Path, metavar="PATH", help="session file")
    p.set_defaults(func=cmd_check)

    p = _add(subs, "sessions", "list incidents in the sessions directory, newest first",
             "warroom sessions")
    _share_arg(p, "also list the incidents shared there; default: $WARROOM_SHARE, else config")
    p.set_defaults(func=cmd_sessions)

    p = _add(subs, "watch", "open the dashboard (an existing --session is resumed)",
             'warroom watch --dsn "host=db1 dbname=orders" --title "orders DB saturated"\n'
             '  warroom watch --dsn "host=db1" --dsn "host=db2"     # a primary and its replica\n'
             '  warroom watch --target primary --target replica-1  # [[targets]] of the config')
    p.add_argument("--dsn", action="append", default=[], metavar="DSN",
                   help="libpq connection string or URI (default: PG* env); repeat it to watch "
                        "several servers side by side (named host:port)")
    _session_arg(p, "a new incident")
    p.add_argument("--title", help="title for a new incident")
    p.add_argument("--interval", type=_seconds, default=1.0, metavar="S",
                   help="seconds between samples (default: 1)")
    p.add_argument("--pgbouncer", metavar="DSN", action="append", default=[],
                   help="PgBouncer admin console DSN; with several --dsn, one per server in the "
                        "same order ('' for none)")
    p.add_argument("--target", metavar="NAME", action="append", default=[],
                   help="watch the config file's [[targets]] of that name (repeatable; without "
                        "--dsn or --target, every configured target is watched)")
    p.add_argument("--author", help="who is at the keyboard (default: $WARROOM_AUTHOR, else login)")
    _share_arg(p, "default: where a resumed session is shared, else $WARROOM_SHARE, else config")
    p.set_defaults(func=cmd_watch)

    p = _add(subs, "sample", "print live samples as JSON lines (headless)",
             'warroom sample --dsn "host=127.0.0.1 dbname=postgres" --count 5 --json\n'
             '  warroom sample --dsn "host=db1" --dsn "host=db1-replica" --json\n\n'
             "each line is one server's sample; with several --dsn it names the server in\n"
             '"server" (host:port, -2, -3 ... added when two are alike). Each server is polled\n'
             "on its own, so one that stops answering never delays the others' lines.\n"
             '"role" and "replication" say where it stands: a primary\'s standbys and slots,\n'
             "a replica's lag, replay pause and upstream. With --pgbouncer the line has a\n"
             '"pgbouncer" object: its pools, and who waits in them.')
    p.add_argument("--dsn", action="append", metavar="DSN",
                   help="libpq connection string or URI (default: PG* env); repeat it to "
                        "sample several servers side by side")
    p.add_argument("--pgbouncer", metavar="DSN", action="append", default=[],
                   help="PgBouncer admin console DSN; with several --dsn, one per server in the "
                        "same order ('' for none)")
    p.add_argument("--count", type=int, metavar="N",
                   help="stop after N samples of each server (default: forever)")
    p.add_argument("--interval", type=_seconds, default=1.0, metavar="S",
                   help="seconds between samples (default: 1)")
    p.add_argument("--json", action="store_true", required=True,
                   help="one JSON object per line (the only output format)")
    p.set_defaults(func=cmd_sample)

    p = _add(subs, "doctor", "check the monitor role's privileges and print the SQL for each gap",
             'warroom doctor --dsn "host=db1 dbname=orders user=warroom"')
    p.add_argument("--dsn", default="", help="libpq connection string or URI (default: PG* env)")
    p.set_defaults(func=cmd_doctor)

    p = _add(subs, "demo", "run an incident drill on a throwaway sandbox PostgreSQL",
             "warroom demo --scenario storm")
    p.add_argument("--scenario", metavar="NAME", help="which drill (default: storm)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--author", help="who is at the keyboard (default: $WARROOM_AUTHOR, else login)")
    # Compressed timing for tests and impatient rehearsals; also $WARROOM_DRILL_SPEED.
    p.add_argument("--speed", type=float, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)

    p = _add(subs, "serve", "serve a read-only web page of the incident for stakeholders",
             "warroom serve --bind 0.0.0.0:8765 --token generate")
    p.epilog += (
        "\n\nloopback (127.0.0.0/8, ::1, localhost) needs no token. Any other address needs one:"
        "\n--token generate makes one and prints it once at start; --token TOKEN (16+ characters)"
        "\nuses yours. Without either, a non-loopback --bind is refused. Viewers pass it once as"
        "\n?token=... (then kept in a cookie) or as an `Authorization: Bearer` header."
    )
    _session_arg(p, "the newest unresolved session")
    p.add_argument("--share", metavar="DSN",
                   help="the ops database of a shared incident (with --incident; default "
                        "$WARROOM_SHARE, else [share] dsn in the config file)")
    p.add_argument("--incident", metavar="ID", help="the shared incident's id (with --share)")
    p.add_argument("--bind", metavar="HOST:PORT",
                   help="where to listen (default: 127.0.0.1:8765; port 0 picks a free one)")
    p.add_argument("--token", metavar="TOKEN",
                   help="token viewers must give; `generate` makes one (needed off loopback)")
    p.set_defaults(func=cmd_serve)
    return parser


# -- helpers ---------------------------------------------------------------------------------


def _author(given: str | None) -> str:
    if given:
        return given
    env = os.environ.get("WARROOM_AUTHOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _resolve_session(path: Path | None) -> Path:
    from warroom.sessions.paths import newest_unresolved

    return path if path is not None else newest_unresolved()


# -- commands --------------------------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> int:
    from warroom.sessions.paths import new_session_path
    from warroom.sessions.share import client
    from warroom.sessions.store import Store

    started = utcnow() if args.at is None else parse_past_time(args.at)
    incident = Incident.create(args.title, started, severity=args.severity)
    dsn = client.configured_dsn(args.share)
    if dsn:
        client.refuse_if_taken(dsn, incident.id)
    path = args.session if args.session is not None else new_session_path(incident.id)
    store = Store.create(path, incident)
    if dsn:
        author = client.qualified(_author(args.author))
        outbox = client.start_sharing(store, dsn, client.host_name(), author)
        _publish(outbox, dsn, author, "the incident is")
    print(path)
    return 0


def cmd_join(args: argparse.Namespace) -> int:
    from warroom.sessions.share import client
    from warroom.sessions.store import load_header

    dsn = client.configured_dsn(args.share)
    if not dsn:
        local = client.local_copy(args.incident)
        dsn = load_header(local).share if local is not None else None
    if not dsn:
        raise UsageError("join needs the ops database: --share DSN (or $WARROOM_SHARE)")
    author = client.qualified(_author(args.author))
    print(client.join(args.incident, dsn, client.host_name(), author))
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


def _publish(outbox: Outbox | None, dsn: str | None, author: str, what: str) -> None:
    """After the local fsync: one bounded attempt; offline is a warning, not a failure."""
    if outbox is None or dsn is None:
        return
    from warroom.sessions.share.oneshot import publish_once

    sys.stdout.flush()  # the id is out before we wait on the network
    problem = publish_once(outbox, dsn, author, what)
    if problem is not None:
        _warn(problem)


def cmd_note(args: argparse.Namespace) -> int:
    from warroom.sessions.share.oneshot import entry_author, open_session

    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("a note needs some text")
    at = utcnow() if args.at is None else parse_past_time(args.at)
    path = _resolve_session(args.session)
    author = entry_author(_author(args.author), path, args.share)
    store, outbox, dsn = open_session(path, args.share, author)
    entry = TimelineEntry(at=at, text=text, kind=Kind(args.kind), author=author, source=Source.CLI)
    store.append_entry(entry)
    print(entry.id)
    _publish(outbox, dsn, author, f"note {entry.id} is")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from warroom.sessions.share.oneshot import entry_author, open_session

    at = utcnow() if args.at is None else parse_past_time(args.at)
    path = _resolve_session(args.session)
    author = entry_author(_author(args.author), path, args.share)
    store, outbox, dsn = open_session(path, args.share, author)
    entry = store.update(
        lambda incident: incident.status_change(args.status, at, author, Source.CLI)
    )
    print(entry.id)
    _publish(outbox, dsn, author, f"status {args.status} is")
    return 0


def cmd_postmortem(args: argparse.Namespace) -> int:
    from warroom.sessions.postmortem import render
    from warroom.sessions.store import load

    loaded = load(args.path)
    if loaded.torn is not None:
        _warn(f"{args.path}: ignoring a torn last write ({len(loaded.torn)} bytes)")
    if args.pictures and args.output is None:
        raise UsageError("--pictures saves files beside the draft: give -o OUT")
    pictures = None
    if args.pictures:
        from warroom.tui.pictures import save_peak_pictures

        pictures = save_peak_pictures(args.path, loaded.incident, args.output)
    draft = render(loaded.incident, pictures=pictures)
    if args.output is None:
        sys.stdout.write(draft)
        return 0
    _write_atomically(args.output, draft)
    print(args.output)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from warroom.collectors.alerts import load_config
    from warroom.sessions.store import load
    from warroom.sessions.times import parse_clock

    if args.speed is not None and not 0 < args.speed <= 1000:
        raise UsageError("--speed must be more than 0 and at most 1000")
    # The rollups stay undecoded: the first frame needs a few minutes of them, not hours.
    loaded = load(args.path, lazy=True)
    incident = loaded.incident
    at = None
    if args.at:
        # A clock time means the incident's day, not today: replays happen days later.
        at = parse_clock(args.at, incident.started_at) or parse_time(args.at)
    from warroom.tui.replay import ReplayApp
    from warroom.tui.signals import ExitGuard

    app = ReplayApp(args.path, incident, alerts=load_config(), at=at, speed=args.speed,
                    author=_author(args.author))  # fmt: skip
    with ExitGuard() as guard:
        guard.app = app
        try:
            app.run()
        finally:
            app.shutdown()
    return 128 + guard.signum if guard.signum else 0


def cmd_check(args: argparse.Namespace) -> int:
    from warroom.sessions.store import load, summary

    loaded = load(args.path, warn=False)
    incident = loaded.incident
    if loaded.torn is not None:
        raise CliError(
            f"{args.path}: the last write was torn ({len(loaded.torn)} bytes); everything before "
            "it is valid, and the next `warroom note` or `watch` on it cuts it off and keeps it "
            "beside the file"
        )
    if loaded.problems:
        # What every reader shows otherwise than the file says (they warn and go on): not ok.
        raise CliError(summary(loaded.problems))
    print(
        f"{args.path}: ok: {incident.id}, {incident.severity}, {incident.status.value}, "
        f"{len(incident.timeline)} timeline entries, {len(incident.action_items)} action items, "
        f"{len(incident.samples)} sample rollups"
    )
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from warroom.sessions.share import client

    dsn = client.configured_dsn(args.share)
    if args.share:
        return _list_shared(dsn or args.share)
    _list_local()
    if dsn:
        from warroom.sessions.share.opsdb import OpsError

        try:
            _list_shared(dsn)
        except OpsError as exc:  # asked for local sessions; the shared ones are a bonus
            _warn(f"shared incidents not listed: {exc}")
    return 0


def _list_shared(dsn: str) -> int:
    from warroom.sessions.share import client, opsdb

    with opsdb.connect(dsn) as conn:
        opsdb.require_schema(conn, dsn)
        # Connected anyway: what this host's sessions queued while the ops database was down
        # goes now (bounded; what cannot go stays pending with a warning), then the list
        # shows it.
        for problem in client.publish_sessions(conn, dsn):
            _warn(problem)
        found = opsdb.list_incidents(conn)
    if not found:
        print(f"no shared incidents on {opsdb.where(dsn)}")
        return 0
    print(f"shared on {opsdb.where(dsn)}:")
    for inc in found:
        local = client.local_copy(inc.id)
        who = ", ".join(inc.responders) or "-"
        line = f"{inc.id}  {inc.severity:<4} {inc.status:<13} {inc.title}  responders: {who}"
        print(line + (f"  {local}" if local else ""))
    return 0


def _list_local() -> int:
    from warroom.sessions.paths import list_sessions, sessions_dir

    found = list_sessions()
    if not found:
        print(f"no incidents in {sessions_dir()}")
        return 0
    for item in found:
        inc = item.incident
        if inc is None:
            print(f"{'BROKEN':<13} {'':<4} {'':<20} {item.path}  ({item.error})")
            continue
        started = format_utc(inc.started_at, seconds=False)
        print(f"{inc.status.value:<13} {inc.severity:<4} {started:<20} {inc.title}  {item.path}")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from warroom.sessions.share import client
    from warroom.targets import choose
    from warroom.tui.launch import WatchOptions, run_watch

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
            author=_author(args.author),
            share=share,
            # Named on the command line, they win over what a resumed session watched.
            servers=tuple(servers) if args.dsn or args.target or len(servers) > 1 else (),
        )
    )


def cmd_sample(args: argparse.Namespace) -> int:
    from contextlib import closing

    from warroom.collectors.alerts import load_config
    from warroom.collectors.headless import ServerLines, sample_lines
    from warroom.collectors.pgbouncer import PgBouncerCollector
    from warroom.collectors.postgres import PostgresCollector
    from warroom.targets import names_of, paired

    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
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

    return run_demo(
        DemoOptions(scenario=args.scenario, speed=speed, author=_author(args.author))
    )


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
        return run(FileFollower(_resolve_session(args.session)), bind, access)
    # A shared incident: this host's copy (made or caught up by join), kept in step with the
    # ops database by a Sharer, and served like any session file. Nothing is published from
    # here: the page has no way to change the record.
    from warroom.sessions.share import client
    from warroom.sessions.share.sharer import Sharer
    from warroom.sessions.store import Store

    dsn = client.configured_dsn(args.share)
    if not dsn:
        raise UsageError("serve --incident needs the ops database: --share DSN (or $WARROOM_SHARE)")
    _share_warnings_to_stderr()
    author = "stakeholder page"
    path = client.join(args.incident, dsn, client.host_name(), author)
    # The page reads the file itself; the Sharer only adds others' entries and changes.
    store = Store.open(path, lazy=True)
    sharer = Sharer(store, dsn, host=client.host_name(), author=author).start()
    try:
        return run(FileFollower(path), bind, access)
    finally:
        sharer.stop()


def _write_atomically(path: Path, text: str) -> None:
    from warroom.sessions.fileio import replace_atomically

    try:
        replace_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _usage(message: str) -> int:
    raise UsageError(message)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _share_warnings_to_stderr() -> None:
    import logging

    log = logging.getLogger("warroom.share")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: warning: %(message)s"))
        log.addHandler(handler)
        log.propagate = False


def _fail(message: str, code: int) -> int:
    # One line, always: a multi-line message from below would break scripts that read stderr.
    line = " ".join(str(message).split())
    print(f"{PROG}: error: {line}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    from warroom.sanitize import terminal_streams

    # Everything any command prints (titles, host names, paths, servers' messages, errors)
    # reaches the terminal through one filter: no escape or bidi character it carries is obeyed.
    with terminal_streams():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    # Not the alerts module for its ConfigError (a UserError): importing the collectors costs
    # `warroom note` more than the note itself.
    from warroom.sessions.store import SessionError

    _share_warnings_to_stderr()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        result: int = args.func(args)
        return result
    except UsageError as exc:
        return _fail(str(exc), 2)
    except (UserError, SessionError, ModelError, TimeError) as exc:
        return _fail(str(exc), 1)
    except BrokenPipeError:
        # `warroom postmortem x | head`: the reader left; not an error worth a line. Point
        # stdout at /dev/null so the interpreter's last flush cannot complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: never show a traceback to a responder at 3 a.m.
        if os.environ.get("WARROOM_DEBUG"):
            import traceback  # only here: every command would pay for the import

            traceback.print_exc()
        name = exc.__class__.__name__
        return _fail(f"internal error: {name}: {exc} (WARROOM_DEBUG=1 shows more)", 1)
