"""What every part of the dashboard App may use: the session's parts, the record, and the
drawing the App does. WarroomApp is made of rooms (record_writes, note_box, other_views,
leaving), each a subclass of this one, so each holds its own actions and reads as a unit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual.app import App

from warroom.collectors.alerts import AlertConfig
from warroom.sessions.model import Incident, Kind, TimelineEntry
from warroom.sessions.recorder import Recorder
from warroom.tui.parts import DataSource, Drill, Session, Sink, Watched
from warroom.tui.state import LiveState


class DashboardBase(App[None]):
    session: Session
    source: DataSource
    sink: Sink
    clock: Callable[[], datetime]
    author: str
    drill: Drill | None
    alerts: AlertConfig | None
    servers: list[Watched]
    selected: int
    local_time: bool
    failure: Exception | None
    kept_pending: int
    _deleted: list[TimelineEntry]
    _note_started: datetime | None
    _note_saving: str | None
    _flushed: bool
    _shut_down: bool
    _quitting: bool

    # -- the record --------------------------------------------------------------------------

    @property
    def incident(self) -> Incident:
        """What the screen shows, as the sink has it."""
        return self.sink.incident

    @property
    def session_path(self) -> Path:
        return self.sink.path

    @property
    def recorder(self) -> Recorder | None:
        """The open writer, if any."""
        return self.sink.recorder

    @property
    def states(self) -> list[LiveState]:
        """One live state per watched server (a recording's seek makes new ones)."""
        return self.source.states

    @property
    def state(self) -> LiveState:
        """The selected server's: what the panes below the strip show."""
        return self.source.states[self.selected]

    # -- made by WarroomApp and the rooms ----------------------------------------------------

    def refresh_live(self) -> None:
        raise NotImplementedError

    def refresh_record(self) -> None:
        raise NotImplementedError

    def refresh_timeline(self) -> None:
        raise NotImplementedError

    def tag(self, server: int) -> str:
        raise NotImplementedError

    def log_entry(self, text: str, kind: Kind = Kind.NOTE, at: datetime | None = None) -> bool:
        raise NotImplementedError

    def unsaved_note(self) -> str:
        raise NotImplementedError

    def action_note(self) -> None:
        raise NotImplementedError
