"""`warroom demo`: a drill on a sandbox database, watched by the real dashboard.

Lives beside the CLI, not in ``drill`` or ``tui``: it wires the two together, and neither may
import the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.collectors.alerts import load_config
from warroom.drill.runner import DrillRun
from warroom.sessions.model import Kind, Source, TimelineEntry
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow
from warroom.tui.app import WarroomApp
from warroom.tui.launch import LaunchError, WatchOptions, open_store, watch_session
from warroom.tui.parts import Session
from warroom.tui.session import run_dashboard
from warroom.tui.signals import ExitGuard


@dataclass(frozen=True, slots=True)
class DemoOptions:
    scenario: str | None
    speed: float
    author: str
    interval: float = 1.0


def demo_app(run: DrillRun, *, author: str, interval: float = 1.0) -> tuple[WarroomApp, Store]:
    """The dashboard on ``demo_session`` (for driving it in a test)."""
    session, store = demo_session(run, author=author, interval=interval)
    return WarroomApp(session), store


def demo_session(run: DrillRun, *, author: str, interval: float = 1.0) -> tuple[Session, Store]:
    """A new incident for a started drill, its live session, and the drill's clock running.

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
    outside = Store.open(store.path, lazy=True)  # it only appends the services' alerts

    def service_alert(service: str, text: str) -> None:
        outside.append_entry(
            TimelineEntry(
                at=utcnow(), text=text, kind=Kind.ALERT, author="apm",
                source=Source.AUTO,
            )
        )  # fmt: skip

    session = watch_session(
        store, run.monitor_dsn, interval=interval, author=author, alerts=alerts,
        drill=run, server_port=run.server_port,
    )  # fmt: skip
    run.begin()
    run.watch_services(service_alert)
    return session, store


def run_demo(options: DemoOptions) -> int:
    """`warroom demo`: everything it starts is gone when it returns, however it returns."""
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
            session, store = demo_session(run, author=options.author, interval=options.interval)
            # The one way a dashboard runs, inside the guard that also stops the sandbox.
            run_dashboard(session, guard=guard)  # its status is the guard's, read below
    finally:
        run.close()
    if store is not None:
        print(f"session: {store.path}")
        draft = store.path.with_suffix(".postmortem.md")
        if draft.exists():
            print(f"postmortem: {draft}")
    return 128 + guard.signum if guard.signum else 0


