"""`warroom record`: the flight recorder (headless), its systemd unit; `warroom frames`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.cli.options import (
    PROG,
    CliError,
    Subparsers,
    UsageError,
    add_command,
    dsns_arg,
    interval_arg,
    pgbouncer_arg,
)

if TYPE_CHECKING:
    from warroom.recording.opener import IncidentOpener
    from warroom.recording.recorder import Recorder
    from warroom.sessions.model import Server


def _age(text: str) -> float:
    from warroom.recording.retention import parse_age

    try:
        return parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(text: str) -> int:
    from warroom.recording.retention import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _store(text: str) -> Path | str:
    from warroom.dsn import DsnError
    from warroom.recording.store_api import parse_spec

    try:
        return parse_spec(text)
    except DsnError as exc:  # worded without any of the string (it may hold a password)
        raise argparse.ArgumentTypeError(str(exc)) from None


def store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=_store, metavar="PATH|DSN",
                        help="the recorder's SQLite file, or an ops PostgreSQL DSN for a fleet "
                             "(default: [record] store in the config, "
                             "else $XDG_STATE_HOME/warroom/recorder.sqlite)")  # fmt: skip


def add_record(subs: Subparsers) -> None:
    p = add_command(subs, "record", "keep frames of servers in the background (flight recorder)",
                    'warroom record --dsn "host=db1 dbname=orders user=warroom"\n'
                    "  warroom record --target primary --unit > "
                    "/etc/systemd/system/warroom-record.service\n\n"
                    "each frame is a sample's figures (as `sample --json`) and every client "
                    "backend;\nalerts and findings are logged on stderr as they raise and clear. "
                    "SIGTERM stops it.")  # fmt: skip
    dsns_arg(p, "record several servers", default=[])
    pgbouncer_arg(p)
    p.add_argument("--target", metavar="NAME", action="append", default=[],
                   help="record the config file's [[targets]] of that name (repeatable)")
    interval_arg(p)
    store_arg(p)
    p.add_argument("--retention-age", type=_age, metavar="AGE",
                   help="drop frames older than this, like 48h, 90m, 2d (default: 48h)")
    p.add_argument("--retention-size", type=_size, metavar="SIZE",
                   help="keep the store under this size, like 1GiB, 500MB (default: 1GiB)")
    p.add_argument("--open-incident-on", choices=("critical", "warning"), metavar="LEVEL",
                   help="open an incident at the first alert or finding of this level or worse "
                        "(critical or warning; default: [record] open_incident_on, else none)")
    p.add_argument("--unit", action="store_true",
                   help="print a systemd unit that runs this recorder, and exit")
    p.add_argument("--frames", type=int, help=argparse.SUPPRESS)  # stop after N: tests, bench
    p.set_defaults(func=cmd_record, interval=None)


def add_frames(subs: Subparsers) -> None:
    p = add_command(subs, "frames", "save the recorder's frames of an incident beside its record",
                    "warroom frames ~/.local/share/warroom/incidents/20261124-0900-db.toml\n\n"
                    "writes NAME.frames.sqlite: the frames of each server it watched, from 30 "
                    "minutes\nbefore it started through its resolution (or now)")  # fmt: skip
    p.add_argument("path", type=Path, metavar="PATH", help="session file")
    store_arg(p)
    p.add_argument("--lead", type=_age, default=1800.0, metavar="AGE",
                   help="how long before the start to begin (default: 30m)")
    p.set_defaults(func=cmd_frames)


def _log(line: str) -> None:
    # One line each, flushed: journald stamps it; a terminal reads it as it happens.
    at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    sys.stderr.write(f"{PROG} record: {at} {line}\n")
    sys.stderr.flush()


def cmd_record(args: argparse.Namespace) -> int:
    from warroom.collectors.alerts import load_config
    from warroom.collectors.headless import ServerLines
    from warroom.collectors.pgbouncer import PgBouncerCollector
    from warroom.collectors.postgres import PostgresCollector
    from warroom.config import read_config
    from warroom.recording.recorder import Recorder
    from warroom.recording.retention import Retention
    from warroom.recording.sampler import ServerFrames
    from warroom.recording.settings import parse_record
    from warroom.recording.store import StoreError
    from warroom.recording.store_api import describe
    from warroom.targets import choose

    if args.frames is not None and args.frames < 1:
        raise UsageError("--frames must be at least 1")
    settings = parse_record(read_config())
    alerts = load_config()  # a broken config fails here, before any thread
    names = args.target or ([] if args.dsn else list(settings.targets))
    servers = choose(args.dsn, args.pgbouncer, names)
    interval = args.interval or settings.interval
    store = settings.store_spec(args.store)
    retention = Retention(args.retention_age or settings.retention_age_s,
                          args.retention_size or settings.retention_bytes)  # fmt: skip
    if args.unit:
        from warroom.recording.unit import unit_args, unit_text

        options = ["--interval", f"{interval:g}", "--retention-age", f"{retention.max_age_s:g}",
                   "--retention-size", str(retention.max_bytes)]  # fmt: skip
        if args.open_incident_on:
            options += ["--open-incident-on", args.open_incident_on]
        if isinstance(store, str):  # a DSN: the service finds its password in ~/.pgpass
            from warroom.dsn import without_password

            options += ["--store", without_password(store)]
        elif args.store or settings.store:  # else the service's own state directory
            options += ["--store", str(store.absolute())]
        from warroom.config import config_path

        # The service reads the same config when it names targets or has settings of its own.
        config = str(config_path().absolute()) if config_path().is_file() else None
        text = unit_text(unit_args(args.dsn, args.pgbouncer, args.target, options), config=config)
        sys.stdout.write(text)
        return 0
    if isinstance(store, Path) and store.is_dir():
        raise CliError(f"{store}: is a directory, not a store file")
    if isinstance(store, str):
        from warroom.recording.pgstore import refuse_watched

        try:
            refuse_watched(store, [s.dsn for s in servers])
        except StoreError as exc:
            raise CliError(str(exc)) from None
    frames = [
        ServerFrames(
            ServerLines(PostgresCollector(s.dsn, interval=interval),
                        PgBouncerCollector(s.pgbouncer, budget=interval * 0.8)
                        if s.pgbouncer else None,
                        s.name, alerts.findings, s.dsn),
            s.name, alerts)
        for s in servers
    ]  # fmt: skip
    recorder = Recorder(frames, store, retention, interval, _log)
    recorder.opener = _opener(args.open_incident_on or settings.open_incident_on, servers,
                              recorder, settings.lead_up_s)  # fmt: skip
    try:
        recorder.open_store()
    except StoreError as exc:
        for f in frames:
            f.lines.close_collectors()
        raise CliError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    listed = ", ".join(s.name for s in servers)
    _log(f"recording {listed} every {interval:g} s to {describe(store)} (keeping "
         f"{retention.max_age_s / 3600:g} h, {retention.max_bytes / 1024**2:g} MiB)")  # fmt: skip
    recorder.run(stop, args.frames)
    _log(f"stopped after {recorder.written} frames")
    return 0


def _opener(
    level: str | None, servers: list[Server], recorder: Recorder, lead_s: float
) -> IncidentOpener | None:
    """The incident opener of ``[record] open_incident_on``; a bad [[notify]] fails here,
    before any thread, and a destination's failures are then lines of this log."""
    if level is None:
        return None
    from warroom.notify import hooks
    from warroom.recording.opener import IncidentOpener

    hooks.check()
    hooks.warnings_to_stderr(f"{PROG} record")
    named = {s.name: (s.dsn, s.pgbouncer) for s in servers}
    return IncidentOpener(level, named, recorder.lead, lead_s, _log)

def cmd_frames(args: argparse.Namespace) -> int:
    from warroom.config import read_config
    from warroom.recording.export import save_frames
    from warroom.recording.settings import parse_record

    store = args.store or parse_record(read_config()).store_spec()  # --store: no config read
    target, count = save_frames(args.path, store, args.lead)
    print(f"{target}: {count} frames")
    return 0
