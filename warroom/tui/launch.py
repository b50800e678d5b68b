"""`warroom watch`: open or resume a session, start the collectors, run the dashboard."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom.collectors.alerts import AlertConfig, load_config
from warroom.collectors.dsn import db_port, default_title
from warroom.dsn import without_password as redact
from warroom.errors import UserError
from warroom.notify import hooks as notify
from warroom.recording.at_resolve import keep_frames, timeline_note
from warroom.recording.leadup import attach_lead_up
from warroom.sessions.model import Incident, Kind, Server, Target
from warroom.sessions.paths import new_session_path
from warroom.sessions.recorder import Recorder
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow
from warroom.tui.parts import BackendsFactory, Session, Watched
from warroom.tui.session import live_session, report_pending, run_dashboard
from warroom.tui.terminal import silence_output

if TYPE_CHECKING:
    from textual.screen import Screen

    from warroom.collectors.postgres import PostgresCollector
    from warroom.tui.app import WarroomApp
    from warroom.tui.parts import Drill

__all__ = ["LaunchError", "WatchOptions", "build_app", "open_store", "report_pending",
           "run_watch", "watch_session"]  # fmt: skip


class LaunchError(UserError):
    """Cannot start the dashboard; one line for the user."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    dsn: str
    session: Path | None
    title: str | None
    interval: float
    pgbouncer: str | None
    author: str
    share: str | None = None  # ops database DSN: share this incident through it
    # The check that ``share`` is no watched server, when it did not finish before the screen:
    # its refusal, or None (opsdb.refuse_watched).
    share_check: Future[str | None] | None = None
    # Several servers (the first is also ``dsn``/``pgbouncer``); empty: just ``dsn``.
    servers: tuple[Server, ...] = ()


def open_store(options: WatchOptions) -> Store:
    if options.session is not None and options.session.exists():
        store = Store.open(options.session)
        if store.incident.target == Target() and (options.dsn or options.servers):
            # Made by `warroom new`, watched now: the record learns what it watches, so a
            # resume without --dsn watches the same server, not libpq's default socket.
            target = _target(options)
            store.update(lambda incident: setattr(incident, "target", target))
            attach_lead_up(store)  # the flight recorder's view of the minutes before
        return store
    title = options.title or default_title(options.dsn)
    incident = Incident.create(title, utcnow(), target=_target(options))
    path = options.session or new_session_path(incident.id)
    store = Store.create(path, incident)
    attach_lead_up(store)
    return store


def _target(options: WatchOptions) -> Target:
    """What the command line watches, as the record keeps it (no password)."""
    servers = tuple(
        Server(s.name, redact(s.dsn), redact(s.pgbouncer)) for s in options.servers
    ) if len(options.servers) > 1 else ()
    return Target(dsn=redact(options.dsn), pgbouncer=redact(options.pgbouncer or ""),
                  servers=servers)  # fmt: skip


def build_app(store: Store, dsn: str, **options: Any) -> WarroomApp:
    """The dashboard on ``watch_session(store, dsn, **options)`` (tests and benchmarks drive it
    with a pilot; `watch` and `demo` run the session through ``run_dashboard``)."""
    from warroom.tui.app import WarroomApp

    return WarroomApp(watch_session(store, dsn, **options))


def watch_session(
    store: Store,
    dsn: str,
    *,
    interval: float,
    author: str,
    alerts: AlertConfig,
    pgbouncer: str | None = None,
    drill: Drill | None = None,
    server_port: int | None = None,
    servers: Sequence[Server] = (),
) -> Session:
    """The collectors on one store: the live session `watch` and `demo` share.

    ``server_port`` is the port the host pane counts sockets to, when the monitor reaches the
    server some other way (the demo's monitor goes through its decoy proxy; its services don't).
    """
    from warroom.collectors.host import HostCollector

    # One monitoring connection per server, each polled on its own thread by the app.
    if len(servers) <= 1:
        watched = [_watched(Server("", dsn, pgbouncer or ""), interval)]
    else:
        watched = [_watched(server, interval) for server in servers]
    return live_session(
        Recorder(store),
        servers=watched,
        host=HostCollector(server_port if server_port is not None else db_port(dsn)),
        interval=interval,
        alerts=alerts,
        author=author,
        drill=drill,
    )


def _watched(server: Server, interval: float) -> Watched:
    from warroom.collectors.postgres import PostgresCollector

    postgres = PostgresCollector(server.dsn, interval=interval)
    bouncer = None
    if server.pgbouncer:
        from warroom.collectors.pgbouncer import PgBouncerCollector

        bouncer = PgBouncerCollector(server.pgbouncer, budget=interval * 0.8)
    return Watched(server.name, postgres, bouncer, _backends_factory(postgres))


def _backends_factory(postgres: PostgresCollector) -> BackendsFactory:
    """The backends view on ``postgres``, its module imported when the view first opens: a
    tenth of a second of imports the first frame does not wait for."""

    def make(log: Callable[[str, Kind], bool]) -> Screen[None]:
        from warroom.tui.backends import backends_screen_factory

        return backends_screen_factory(postgres)(log)

    return make


def run_watch(options: WatchOptions) -> int:
    if options.interval < 0.2:
        raise LaunchError("--interval must be at least 0.2 seconds")
    alerts: AlertConfig = load_config()
    notify.check()  # a bad [[notify]] fails before a session is created
    redact(options.dsn)  # a malformed DSN is reported before anything is created
    fresh = options.session is None or not options.session.exists()
    store = notify.watch(open_store(options), opened=fresh)
    # Resuming without --dsn watches what the session watched (libpq finds the password).
    dsn = options.dsn or store.incident.target.dsn
    servers = options.servers or store.incident.target.servers
    author = options.author
    sharer = None
    if options.share or store.incident.share:
        from warroom.sessions.share import client

        author = client.qualified(author)
        sharer = client.dashboard_sharer(store, options.share, author, options.share_check)
    session = watch_session(
        store,
        dsn,
        interval=options.interval,
        author=author,
        alerts=alerts,
        pgbouncer=options.pgbouncer,
        servers=servers,
    )
    session.sharer = sharer
    # Resolved from the dashboard: the recorder's frames beside the record, off its threads.
    keep_frames(store, timeline_note(session.sink.writer()))
    status = run_dashboard(session)
    try:
        print(store.path, flush=True)
    except OSError:
        # The terminal is gone (an SSH drop): no one to tell, and the exit status says why.
        silence_output()
    return status
