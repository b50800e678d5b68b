"""The recorder's history in the dashboard (`warroom replay --recorder`): the sink of a replay
that has no record at all. Nothing is written: `n` starts a new incident instead of a note
(session.py gives the Session its ``start_incident``). Only the session builder imports this.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from warroom.sessions.model import Incident, Source
from warroom.sessions.recorder import Recorder

NO_RECORD = "the recorder's history has no record: n starts an incident at the cursor"


class HistorySink:
    records = False
    refusal = NO_RECORD
    note_source = Source.REVIEW

    def __init__(self, incident: Incident, store: Path) -> None:
        """``incident``: the history as an in-memory record; ``store``: the recorder's file
        (a screenshot is saved beside it)."""
        self._incident = incident
        self._store = store

    @property
    def recorder(self) -> Recorder | None:
        return None

    @property
    def incident(self) -> Incident:
        return self._incident

    @property
    def path(self) -> Path:
        return self._store

    def bind(self, on_change: Callable[[], None]) -> None:
        """Nothing changes: there is no record."""

    def writer(self) -> Recorder:
        raise RuntimeError(NO_RECORD)  # the key table offers no note here

    def changes(self) -> int | None:
        return None

    def close(self, timeout: float) -> int:
        return 0
