"""The incident record's commands: new, note, status, check, sessions, postmortem.

`note` and `status` import nothing of the collectors or psycopg (interpreter start-up and
imports are most of what a note costs): what they need beyond the session is imported inside.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.cli.options import (
    SHARE_CONFIGURED,
    SHARE_OF_SESSION,
    CliError,
    Subparsers,
    UsageError,
    add_command,
    author,
    author_arg,
    resolve_session,
    session_arg,
    share_arg,
    time_arg,
)
from warroom.cli.output import warn, write_atomically
from warroom.sessions.model import SEVERITIES, Incident, Kind, Source, Status, TimelineEntry
from warroom.sessions.times import format_utc, parse_past_time, utcnow

if TYPE_CHECKING:
    from warroom.sessions.share.outbox import Outbox


def add_new(subs: Subparsers) -> None:
    p = add_command(subs, "new", "create an incident and print its session file's path",
                    'warroom new --title "orders DB refusing connections" --severity SEV1 '
                    "--at 09:00")  # fmt: skip
    session_arg(p, "a new file in the sessions directory")
    p.add_argument("--title", required=True, help="what is happening, in a few words")
    p.add_argument("--severity", default="SEV2", choices=SEVERITIES,
                   help="SEV1 (worst) .. SEV4 (default: SEV2)")  # fmt: skip
    time_arg(p, "impact start")
    share_arg(p, SHARE_CONFIGURED)
    author_arg(p, "who opens it")
    p.set_defaults(func=cmd_new)


def add_note(subs: Subparsers) -> None:
    p = add_command(subs, "note", "append an entry to the incident timeline and print its id",
                    'warroom note --kind action "raised shop-api pool max to 20, rolling restart"')
    session_arg(p, "the newest unresolved session")
    time_arg(p, "when it happened")
    p.add_argument("--kind", default="note", choices=[k.value for k in Kind],
                   help="entry kind (default: note)")  # fmt: skip
    author_arg(p, "who writes it")
    p.add_argument("text", nargs="+", metavar="TEXT", help="the entry's text")
    share_arg(p, SHARE_OF_SESSION)
    p.set_defaults(func=cmd_note)


def add_status(subs: Subparsers) -> None:
    p = add_command(subs, "status", "change the incident's status and log it on the timeline",
                    "warroom status identified --at 10:30")
    session_arg(p, "the newest unresolved session")
    p.add_argument("status", choices=[s.value for s in Status], metavar="STATUS",
                   help="investigating, identified, monitoring or resolved")  # fmt: skip
    time_arg(p, "when the status changed")
    author_arg(p, "who changes it")
    share_arg(p, SHARE_OF_SESSION)
    p.set_defaults(func=cmd_status)


def add_postmortem(subs: Subparsers) -> None:
    p = add_command(subs, "postmortem", "write the postmortem draft (Markdown) for a session",
                    "warroom postmortem ~/.local/share/warroom/incidents/20261124-0900-db.toml "
                    "-o pm.md")  # fmt: skip
    p.add_argument("path", type=Path, metavar="PATH", help="session file")
    p.add_argument("-o", "--output", type=Path, metavar="OUT",
                   help="write the draft here (default: standard output)")  # fmt: skip
    p.add_argument("--pictures", action="store_true",
                   help="also save SVG pictures of the dashboard at the peak-saturation and "
                        "peak-latency windows beside the draft, linked from ## Metrics "
                        "(needs -o)")  # fmt: skip
    p.set_defaults(func=cmd_postmortem)


def add_check(subs: Subparsers) -> None:
    p = add_command(subs, "check", "validate a session file; exit 1 when it is broken",
                    "warroom check ~/.local/share/warroom/incidents/20261124-0900-db.toml")
    p.add_argument("path", type=Path, metavar="PATH", help="session file")
    p.set_defaults(func=cmd_check)


def add_sessions(subs: Subparsers) -> None:
    p = add_command(subs, "sessions", "list incidents in the sessions directory, newest first, "
                    "each with its overdue follow-ups", "warroom sessions")
    share_arg(p, "also list the incidents shared there; default: $WARROOM_SHARE, else config")
    p.set_defaults(func=cmd_sessions)


# -- commands --------------------------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> int:
    from warroom.notify import hooks as notify
    from warroom.sessions.paths import new_session_path
    from warroom.sessions.share import client
    from warroom.sessions.store import Store

    notify.check()  # a bad [[notify]] fails before anything is written
    started = utcnow() if args.at is None else parse_past_time(args.at)
    incident = Incident.create(args.title, started, severity=args.severity)
    dsn = client.configured_dsn(args.share)
    if dsn:
        client.refuse_if_taken(dsn, incident.id)
    path = args.session if args.session is not None else new_session_path(incident.id)
    store = Store.create(path, incident)
    notify.announce_opened(store)
    if dsn:
        who = client.qualified(author(args.author))
        outbox = client.start_sharing(store, dsn, client.host_name(), who)
        _publish(outbox, dsn, who, "the incident is")
    print(path)
    notify.finish(warn)
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    from warroom.notify import hooks as notify
    from warroom.sessions.share.oneshot import entry_author, open_session

    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("a note needs some text")
    at = utcnow() if args.at is None else parse_past_time(args.at)
    path = resolve_session(args.session)
    who = entry_author(author(args.author), path, args.share)
    store, outbox, dsn = open_session(path, args.share, who)
    notify.watch(store)
    entry = TimelineEntry(at=at, text=text, kind=Kind(args.kind), author=who, source=Source.CLI)
    store.append_entry(entry)
    print(entry.id)
    _publish(outbox, dsn, who, f"note {entry.id} is")
    notify.finish(warn)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from warroom.notify import hooks as notify
    from warroom.recording.at_resolve import keep_frames
    from warroom.sessions.share.oneshot import entry_author, open_session

    at = utcnow() if args.at is None else parse_past_time(args.at)
    path = resolve_session(args.session)
    who = entry_author(author(args.author), path, args.share)
    store, outbox, dsn = open_session(path, args.share, who)
    notify.watch(store)
    frames = keep_frames(store, warn)  # resolved: the recorder's frames saved beside it
    entry = store.update(lambda incident: incident.status_change(args.status, at, who, Source.CLI))
    print(entry.id)
    _publish(outbox, dsn, who, f"status {args.status} is")
    notify.finish(warn)
    frames.wait()
    return 0


def _publish(outbox: Outbox | None, dsn: str | None, who: str, what: str) -> None:
    """After the local fsync: one bounded attempt; offline is a warning, not a failure."""
    if outbox is None or dsn is None:
        return
    from warroom.sessions.share.oneshot import publish_once

    sys.stdout.flush()  # the id is out before we wait on the network
    problem = publish_once(outbox, dsn, who, what)
    if problem is not None:
        warn(problem)


def cmd_postmortem(args: argparse.Namespace) -> int:
    from warroom.sessions.postmortem import render
    from warroom.sessions.store import load

    loaded = load(args.path)
    if loaded.torn is not None:
        warn(f"{args.path}: ignoring a torn last write ({len(loaded.torn)} bytes)")
    if args.pictures and args.output is None:
        raise UsageError("--pictures saves files beside the draft: give -o OUT")
    pictures = None
    if args.pictures:
        from warroom.tui.pictures import save_peak_pictures

        pictures = save_peak_pictures(args.path, loaded.incident, args.output)
    from warroom.collectors.alerts_config import load_config

    # Impact counts time above the saturation alert's thresholds as configured here.
    draft = render(loaded.incident, pictures=pictures,
                   saturation=load_config().saturation_levels())  # fmt: skip
    if args.output is None:
        sys.stdout.write(draft)
        return 0
    write_atomically(args.output, draft)
    print(args.output)
    return 0


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
            warn(f"shared incidents not listed: {exc}")
    return 0


def _list_shared(dsn: str) -> int:
    from warroom.sessions.share import client, opsdb

    with opsdb.connect(dsn) as conn:
        opsdb.require_schema(conn, dsn)
        # Connected anyway: what this host's sessions queued while the ops database was down
        # goes now (bounded; what cannot go stays pending with a warning), then the list
        # shows it.
        for problem in client.publish_sessions(conn, dsn):
            warn(problem)
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
    from warroom.sessions.followups import today
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
        _overdue_lines(item.path, today())
    return 0


def _overdue_lines(path: Path, day: date) -> None:
    """The session's open follow-ups past their due date, under its line."""
    from warroom.sanitize import one_line
    from warroom.sessions.followups import overdue, read_action_items
    from warroom.sessions.store import SessionError

    try:
        late = overdue(read_action_items(path), day)
    except (OSError, SessionError) as exc:  # the list goes on; `warroom check` says more
        warn(f"{path}: follow-ups not read: {exc}")
        return
    for a in late:
        owner = one_line(a.owner) or "no owner"
        print(f"    overdue since {a.due}: {one_line(a.text)}  ({owner}; {a.id})")
