"""Fixed data for driving the dashboard: a settable clock and sample sources with known values.

These stand in for a live database only where the test is about the UI (keys, layout, the
record); collector behaviour is tested against real PostgreSQL in tests/collectors.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from warroom.collectors.sample import Connections, Count, Failure, FailureKind, PgSample
from warroom.sessions.model import Incident
from warroom.sessions.recorder import Recorder
from warroom.sessions.store import Store
from warroom.tui.app import WarroomApp

T0 = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0 + timedelta(minutes=12, seconds=34)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def sample(
    at: datetime,
    total: int = 30,
    max_connections: int = 50,
    apps: tuple[tuple[str, int], ...] = (("shop-api", 24), ("billing", 4), ("psql", 2)),
    query_ms: float = 2.0,
    waiting: int = 0,
    probe_refused: bool = False,
) -> PgSample:
    return PgSample(
        at=at,
        status="up",
        connections=Connections(
            total=total,
            max=max_connections,
            reserved=3,
            by_state={"idle": total - 6, "active": 4, "idle in transaction": 2},
            waiting=waiting,
            by_application=tuple(Count(n, c) for n, c in apps),
        ),
        query_ms=query_ms,
        connect_ms=None if probe_refused else 4.0,
        probe_error=Failure(FailureKind.TOO_MANY_CONNECTIONS, "sorry, too many clients", "53300")
        if probe_refused
        else None,
        tps=120.0,
    )


def down(at: datetime) -> PgSample:
    return PgSample(
        at=at,
        status="down",
        error=Failure(FailureKind.UNREACHABLE, "connection refused", None),
    )


class HangingSource:
    """A collector stuck on a stalled server: sample() blocks until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def sample(self) -> PgSample:
        self.entered.set()
        self.release.wait(30)
        return down(T0)

    def close(self) -> None:
        self.release.set()


def new_store(tmp_path: Path, title: str = "orders DB saturated") -> Store:
    incident = Incident.create(title, T0, severity="SEV2")
    return Store.create(tmp_path / "incident.toml", incident)


def make_app(store: Store, clock: Clock | None = None, **kwargs: object) -> WarroomApp:
    """The dashboard recording into ``store`` through a Recorder, as `warroom watch` runs it."""
    return WarroomApp(Recorder(store), clock=clock or Clock(), author="ana", **kwargs)  # type: ignore[arg-type]


async def wait_for(pilot: object, condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)  # type: ignore[attr-defined]


async def settled(pilot: object, app: WarroomApp, timeout: float = 10.0) -> None:
    """Until every write the app queued is on disk and its answer reached the screen."""
    # First let messages already posted run (a dialog's answer arrives a loop turn after it
    # closes): until the write it asks for is queued, "nothing pending" holds too early.
    await pilot.pause()  # type: ignore[attr-defined]
    await wait_for(
        pilot,
        lambda: app.recorder is not None and app.recorder.pending == 0
        and app._note_saving is None,
        timeout,
    )
    await pilot.pause()  # type: ignore[attr-defined]


def pane_text(pane: object) -> str:
    """What a pane shows, as plain text (its rendered picture printed 100 columns wide)."""
    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(pane.rendered)  # type: ignore[attr-defined]
    return console.file.getvalue()  # type: ignore[attr-defined]
