"""What the dashboard's threads post to the App: samples, failures, finished writes, the record.

Messages are the only way in from a poller, the Recorder's thread or a decoding thread: the App
handles them on its own thread, so nothing else ever touches a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.message import Message

from warroom.collectors.sample import PgSample


@dataclass
class PgSampled(Message):
    """Never replaced by a newer one: every sample feeds the series, the alerts and the rollups."""

    sample: PgSample
    log: Any = None  # the server log's window read beside it (LogCounts), if it has a reader
    server: int = 0  # which watched server (its index in the strip)


@dataclass
class HostSampled(Message):
    """Only the newest matters: a queued one is replaced when the UI is behind."""

    sample: Any

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HostSampled)


@dataclass
class BouncerSampled(Message):
    """Only the newest of one server matters: a queued one is replaced when the UI is behind."""

    sample: Any
    server: int = 0

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BouncerSampled) and message.server == self.server


@dataclass
class CollectorFailed(Message):
    """A collector raised (a bug, not a database failure: those are down samples)."""

    text: str


class RecordChanged(Message):
    """The record changed on disk (ours or another writer's): redraw the timeline and header."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RecordChanged)


@dataclass
class Written(Message):
    """A queued write finished; ``error`` is why it failed, None when it is on disk."""

    label: str
    error: str | None
    done: Callable[[], None] | None = None


@dataclass
class NoteWritten(Message):
    """The typed note was fsynced (error None), or could not be: then the draft stays."""

    text: str
    error: str | None


@dataclass
class SourceChanged(Message):
    """A data source's news from its own thread (a newer copy of the record, rollups decoded),
    applied on the UI thread: ``apply`` returns True when the record changed (redraw)."""

    apply: Callable[[], bool]
