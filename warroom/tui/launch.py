"""`warroom watch`: open or resume a session, start the collectors, run the dashboard."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import conninfo

from warroom.collectors.alerts import AlertConfig, load_config
from warroom.collectors.host import HostCollector
from warroom.errors import UserError
from warroom.sessions.model import Incident, Kind, Source, Target, TimelineEntry
from warroom.sessions.paths import new_session_path
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow

if TYPE_CHECKING:
    from warroom.drill.runner import DrillRun
    from warroom.tui.app import Drill, WarroomApp


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


def redact(dsn: str) -> str:
    """The DSN without its password, in libpq's keyword form (URIs included)."""
    if not dsn:
        return ""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg raises ProgrammingError for a malformed DSN
        raise LaunchError(f"cannot read the connection string: {_first_line(exc)}") from None
    params.pop("password", None)
    return conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


def db_port(dsn: str) -> int:
    """The port the database listens on, as libpq would choose it (for the host pane)."""
    try:
        port = conninfo.conninfo_to_dict(dsn).get("port") if dsn else None
    except Exception:
        port = None
    port = port or os.environ.get("PGPORT") or "5432"
    try:
        return int(str(port).split(",")[0])
    except ValueError:
        return 5432


def default_title(dsn: str) -> str:
    try:
        params = conninfo.conninfo_to_dict(dsn) if dsn else {}
    except Exception:
        params = {}
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    db = params.get("dbname") or os.environ.get("PGDATABASE") or ""
    where = f"{db}@{host}" if db else str(host)
    return f"PostgreSQL incident on {where}"


def open_store(options: WatchOptions) -> Store:
    if options.session is not None and options.session.exists():
        return Store.open(options.session)
    target = Target(dsn=redact(options.dsn), pgbouncer=redact(options.pgbouncer or ""))
    title = options.title or default_title(options.dsn)
    incident = Incident.create(title, utcnow(), target=target)
    path = options.session or new_session_path(incident.id)
    return Store.create(path, incident)


def build_app(
    store: Store,
    dsn: str,
    *,
    interval: float,
    author: str,
    alerts: AlertConfig,
    pgbouncer: str | None = None,
    drill: Drill | None = None,
    server_port: int | None = None,
) -> WarroomApp:
    """The collectors and the dashboard on one store: the wiring `watch` and `demo` share.

    ``server_port`` is the port the host pane counts sockets to, when the monitor reaches the
    server some other way (the demo's monitor goes through its decoy proxy; its services don't).
    """
    from warroom.collectors.postgres import PostgresCollector
    from warroom.tui.app import WarroomApp
    from warroom.tui.backends import backends_screen_factory

    postgres = PostgresCollector(dsn, interval=interval)
    bouncer = None
    if pgbouncer:
        from warroom.collectors.pgbouncer import PgBouncerCollector

        bouncer = PgBouncerCollector(pgbouncer, budget=interval * 0.8)
    return WarroomApp(
        store,
        postgres=postgres,
        host=HostCollector(server_port if server_port is not None else db_port(dsn)),
        bouncer=bouncer,
        interval=interval,
        alerts=alerts,
        author=author,
        backends_factory=backends_screen_factory(postgres),
        drill=drill,
    )


def run_watch(options: WatchOptions) -> int:
    if options.interval < 0.2:
        raise LaunchError("--interval must be at least 0.2 seconds")
    alerts: AlertConfig = load_config()
    redact(options.dsn)  # a malformed DSN is reported before anything is created
    store = open_store(options)
    # Resuming without --dsn watches what the session watched (libpq finds the password).
    dsn = options.dsn or store.incident.target.dsn
    author = options.author
    sharer = None
    if options.share or store.incident.share:
        from warroom.sessions.share import client

        author = client.qualified(author)
        sharer = client.dashboard_sharer(store, options.share, author)
    app = build_app(
        store,
        dsn,
        interval=options.interval,
        author=author,
        alerts=alerts,
        pgbouncer=options.pgbouncer,
    )
    app.sharer = sharer
    # An SSH drop (SIGHUP) or a kill (SIGTERM) ends the dashboard the way `q` does: the
    # terminal restored and the partial rollup written. Notes are on disk already.
    with ExitGuard() as guard:
        guard.app = app
        try:
            app.run()
        finally:
            app.shutdown()  # idempotent: after q it has run already
            if sharer is not None:
                sharer.stop()  # one last publish attempt, bounded
    print(store.path)
    return 128 + guard.signum if guard.signum else 0


# -- `warroom demo` ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoOptions:
    scenario: str | None
    speed: float
    author: str
    interval: float = 1.0


def demo_app(run: DrillRun, *, author: str, interval: float = 1.0) -> tuple[WarroomApp, Store]:
    """A new incident for a started drill, the dashboard on it, and the drill's clock running.

    The session is a normal one in the sessions directory: it and its postmortem outlive the
    sandbox. The services' own alerts reach the timeline the way `warroom note` does, through
    a second writer on the same file.
    """
    alerts = load_config()
    store = open_store(
        WatchOptions(
            dsn=run.monitor_dsn, session=None, title=run.scenario.title, interval=interval,
            pgbouncer=None, author=author,
        )
    )  # fmt: skip
    store.append_entry(
        TimelineEntry(at=utcnow(), text=run.intro(), author="drill", source=Source.AUTO)
    )
    outside = Store.open(store.path)

    def service_alert(service: str, text: str) -> None:
        outside.append_entry(
            TimelineEntry(
                at=utcnow(), text=text, kind=Kind.ALERT, author="apm",
                source=Source.AUTO,
            )
        )  # fmt: skip

    app = build_app(
        store, run.monitor_dsn, interval=interval, author=author, alerts=alerts,
        drill=run, server_port=run.server_port,
    )  # fmt: skip
    run.begin()
    run.watch_services(service_alert)
    return app, store


def run_demo(options: DemoOptions) -> int:
    """`warroom demo`: everything it starts is gone when it returns, however it returns."""
    from warroom.drill.runner import DrillRun
    from warroom.drill.sandbox import SandboxUnavailable
    from warroom.drill.scenarios import get

    try:
        scenario = get(options.scenario)
    except KeyError as exc:
        raise LaunchError(str(exc.args[0])) from None
    run = DrillRun(scenario, speed=options.speed, progress=lambda line: print(line, flush=True))
    guard = ExitGuard(run.close)
    store: Store | None = None
    try:
        with guard:
            try:
                run.start()
            except SandboxUnavailable as exc:
                raise LaunchError(str(exc)) from None
            app, store = demo_app(run, author=options.author, interval=options.interval)
            guard.app = app
            try:
                app.run()
            finally:
                app.shutdown()
    finally:
        run.close()
    if store is not None:
        print(f"session: {store.path}")
        draft = store.path.with_suffix(".postmortem.md")
        if draft.exists():
            print(f"postmortem: {draft}")
    return 128 + guard.signum if guard.signum else 0


class ExitGuard:
    """SIGTERM, SIGHUP (an SSH drop) and SIGINT end the dashboard the way `q` does.

    The first signal asks the dashboard to exit (so the terminal is restored and the partial
    rollup written); before the dashboard runs, it interrupts the start-up. If the dashboard
    has not let go within a few seconds (a dead terminal can wedge output), ``cleanup`` (the
    demo's teardown) runs from here and the process leaves.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    GRACE_S = 5.0

    def __init__(self, cleanup: Callable[[], None] | None = None) -> None:
        self.cleanup = cleanup
        self.app: WarroomApp | None = None
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ExitGuard:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, frame: object) -> None:
        first = not self.signum
        self.signum = self.signum or signum
        app = self.app
        if app is None or not app.is_running:
            raise DemoInterrupted(signum)
        if first:
            threading.Thread(target=self._exit_app, args=(app,), daemon=True).start()

    def _exit_app(self, app: WarroomApp) -> None:
        with contextlib.suppress(Exception):
            app.call_from_thread(app.exit)
        deadline = time.monotonic() + self.GRACE_S
        while time.monotonic() < deadline and app.is_running:
            time.sleep(0.1)
        if app.is_running:
            # The UI is stuck (e.g. writing to a terminal that hung up): clean up, then leave.
            if self.cleanup is not None:
                self.cleanup()
            os._exit(128 + self.signum)


class DemoInterrupted(KeyboardInterrupt):
    """A signal arrived before the dashboard was up; unwinds start-up through the cleanups."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
