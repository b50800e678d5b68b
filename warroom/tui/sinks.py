"""What gets written: the two sinks a session can have.

``RecorderSink``: everything, through the Recorder (live and resumed incidents, the demo).
``ReviewSink``: review notes only (a replay): its Recorder is opened on the first note, so a
replay without notes leaves the file byte-identical; the rest of the record is read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from warroom.sessions.model import Incident, Source
from warroom.sessions.recorder import Recorder
from warroom.sessions.store import SessionError, Store

READ_ONLY = "replay is read-only: n adds a review note at the cursor"


class RecorderSink:
    records = True
    refusal = ""
    note_source = Source.MANUAL

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    @property
    def recorder(self) -> Recorder:
        return self._recorder

    @property
    def incident(self) -> Incident:
        """What the screen shows; the Recorder's thread keeps it in step with the file."""
        return self._recorder.store.incident

    @property
    def path(self) -> Path:
        return self._recorder.store.path

    def bind(self, on_change: Callable[[], None]) -> None:
        self._recorder.on_change = on_change

    def writer(self) -> Recorder:
        return self._recorder

    def changes(self) -> int | None:
        return self._recorder.store.changes

    def close(self, timeout: float) -> int:
        return self._recorder.close(timeout=timeout)


class ReviewSink:
    records = False
    refusal = READ_ONLY
    note_source = Source.REVIEW

    def __init__(self, path: Path, latest: Callable[[], Incident]) -> None:
        """``latest``: the newest copy of the record read (a writer may still be adding)."""
        self._path = path
        self._latest = latest
        self._recorder: Recorder | None = None
        self._on_change: Callable[[], None] | None = None

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    @property
    def incident(self) -> Incident:
        if self._recorder is not None:
            try:
                return self._recorder.store.incident
            except SessionError:
                pass  # still opening: the loaded copy is the same record
        return self._latest()

    @property
    def path(self) -> Path:
        return self._path

    def bind(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change

    def writer(self) -> Recorder:
        if self._recorder is None:
            # The first review note opens the session for writing (on the writer's thread).
            path = self._path
            self._recorder = Recorder(lambda: Store.open(path))
            self._recorder.on_change = self._on_change
        return self._recorder

    def changes(self) -> int | None:
        if self._recorder is None:
            return None
        try:
            return self._recorder.store.changes
        except SessionError:
            return None

    def close(self, timeout: float) -> int:
        return self._recorder.close(timeout=timeout) if self._recorder is not None else 0
