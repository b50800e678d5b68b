"""Fixtures for the session store tests: a small real session file, and child Python processes.

Test modules get everything through fixtures (``import conftest`` would be ambiguous with the
suite's own conftest).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    SampleRollup,
    Source,
    Target,
    TimelineEntry,
)
from warroom.sessions.store import Store

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def session_path(tmp_path: Path) -> Path:
    return tmp_path / "incidents" / "20261124-0900-orders.toml"


@pytest.fixture
def session(session_path: Path) -> Store:
    """A session with three entries, an action item and two rollups, as a TUI would leave it."""
    incident = Incident.create(
        "orders DB refusing connections",
        T0,
        severity="SEV1",
        target=Target(dsn="host=db1 dbname=orders user=app"),
    )
    store = Store.create(session_path, incident)
    store.append_entry(TimelineEntry(at=at(2), text="pager: connections at 98%", kind=Kind.ALERT))
    store.append_entry(
        TimelineEntry(at=at(5), text="pgbouncer pool full", author="ana", source=Source.CLI)
    )
    store.append_action_item(ActionItem(text="alert on pool saturation", owner="ana"))
    store.append_samples(
        [
            SampleRollup(at=at(0), samples=10, conn_max=97, max_connections=100),
            SampleRollup(at=at(0.5), samples=10, status="down", refused=3),
        ]
    )
    store.append_entry(TimelineEntry(at=at(7), text="raised pool size", kind=Kind.ACTION))
    return store


# A child writer: opens the session, waits for "go" on stdin when asked, appends N notes (0 =
# until killed) tagged TAG, printing each id only after append_entry returned (= fsynced).
APPENDER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from warroom.sessions.model import Source, TimelineEntry
from warroom.sessions.store import Store

path, tag, count, wait = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "wait"
store = Store.open(path)
if wait:
    print("ready", flush=True)
    sys.stdin.readline()
i = 0
while count == 0 or i < count:
    entry = TimelineEntry(at=datetime.now(UTC), text=f"{tag} {i}", source=Source.CLI)
    store.append_entry(entry)
    sys.stdout.write(entry.id + "\\n")
    sys.stdout.flush()
    i += 1
"""

Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def appender() -> str:
    """Source of the child writer above, for ``spawn(appender, PATH, TAG, COUNT, "wait"|"go")``."""
    return APPENDER


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """``spawn(code, *args, stdin=False)``: a Python child running ``code``; killed at teardown."""
    children: list[subprocess.Popen[str]] = []

    def start(code: str, *args: str, stdin: bool = False) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
