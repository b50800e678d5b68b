"""What a dashboard session is made of, as the App sees it: protocols and one dataclass.

The session builder (session.py) chooses the parts (live collectors on pollers, or a recording
on a virtual clock; the Recorder, or a sink that keeps review notes only) and the App runs
whatever it is given: nothing here, nor in the App, knows live from replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from textual.message import Message
from textual.screen import Screen

from warroom.collectors.alerts import AlertConfig
from warroom.sessions.model import Incident, Kind
from warroom.sessions.model import Source as EntrySource
from warroom.sessions.recorder import Recorder
from warroom.tui.state import LiveState
from warroom.widgets.views import FindingsView


class SampleSource(Protocol):
    """A collector: ``sample()`` returns a frozen sample (or a typed failure)."""

    def sample(self) -> Any: ...

    def close(self) -> None: ...


# Opens the backends view of one server; its argument logs what the user did there (the App
# names the server in it when several are watched).
BackendsFactory = Callable[[Callable[[str, Kind], bool]], Screen[None]]


@dataclass
class Watched:
    """One server the dashboard watches: its sources and the name the strip and timeline use
    (a one-server session's is empty: it stays out of the record and the timeline)."""

    name: str
    postgres: SampleSource | None = None
    bouncer: SampleSource | None = None
    backends_factory: BackendsFactory | None = None


class DrillAction(Protocol):
    """A key the drill adds (e.g. "reconfigure the pool"); ``run`` says what it did."""

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def help(self) -> str: ...

    @property
    def run(self) -> Callable[[], str]: ...


class Drill(Protocol):
    """What `warroom demo` plugs into the dashboard (a DrillRun); the app knows nothing else."""

    name: str

    def actions(self) -> Sequence[DrillAction]: ...


class Host(Protocol):
    """What a data source may ask of the App it feeds."""

    def post_message(self, message: Message) -> bool: ...

    def set_interval(self, interval: float, callback: Callable[[], Any]) -> Any: ...

    def set_timer(self, delay: float, callback: Callable[[], Any]) -> Any: ...

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...  # fmt: skip

    def moved(self) -> None: ...

    def refresh_panes(self) -> None: ...


class DataSource(Protocol):
    """Where the figures come from, on which clock: one LiveState per watched server.

    The clock moves (play, step, seek, speed) only on a recording; a wall clock answers False.
    """

    @property
    def states(self) -> list[LiveState]: ...

    def prime(self, incident: Incident) -> None:
        """Before the first frame: what the panes show from the record."""

    def start(self, host: Host) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    def select(self, index: int) -> None: ...

    def findings_view(self, state: LiveState) -> FindingsView: ...

    def header_notes(self) -> tuple[tuple[str, str], ...]: ...

    def busy_for(self) -> float: ...

    def play(self) -> bool: ...

    def step(self, seconds: int) -> bool: ...

    def to_entry(self, forward: bool) -> bool: ...

    def jump(self, to_end: bool) -> bool: ...

    def faster(self, up: bool) -> bool: ...

    def seek(self, at: datetime) -> bool: ...


class Sink(Protocol):
    """What gets written: everything (the Recorder), or review notes only (a replay)."""

    records: bool  # automatic entries, rollups and edits are written
    refusal: str  # what the user is told when a write is not
    note_source: EntrySource

    @property
    def recorder(self) -> Recorder | None:
        """The open writer, if any (its pending writes show in the header)."""

    @property
    def incident(self) -> Incident: ...

    @property
    def path(self) -> Path: ...

    def bind(self, on_change: Callable[[], None]) -> None:
        """``on_change`` runs (on the writer's thread) when the record changed."""

    def writer(self) -> Recorder:
        """Where a typed note goes (opened on first use where that is lazy)."""

    def changes(self) -> int | None:
        """The record's change count, None when it cannot be read now."""

    def close(self, timeout: float) -> int:
        """Write what is queued (briefly); the number of writes left pending."""


@dataclass
class Session:
    """Everything the App runs: built by session.py, never by the App."""

    where: str  # keys.LIVE or keys.REPLAY: which actions apply
    source: DataSource
    sink: Sink
    clock: Callable[[], datetime]  # the wall clock, or the recording's cursor
    servers: list[Watched]
    host: SampleSource | None = None
    interval: float = 1.0
    alerts: AlertConfig | None = None
    author: str = ""
    drill: Drill | None = None
    sharer: Any = None  # `watch --share`: a warroom.sessions.share.Sharer (polled, never awaited)
    # Host CPU is evidence for the findings only when the first server runs on this machine.
    host_is_db_host: bool = False
    # The recorder's history (`replay --recorder`): `n` starts an incident whose impact began
    # at the given moment and returns its path (disk work: called on a worker thread).
    start_incident: Callable[[datetime], Path] | None = None

