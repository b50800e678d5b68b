"""Edit one timeline entry: its time, kind and text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select

from warroom.sessions.model import Kind, TimelineEntry
from warroom.sessions.times import TimeError, parse_time
from warroom.tui.screens.form import FormScreen


@dataclass(frozen=True, slots=True)
class EntryEdit:
    at: datetime
    kind: Kind
    text: str


class EntryEditScreen(FormScreen[EntryEdit]):
    def __init__(self, entry: TimelineEntry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Time (UTC: ISO 8601 with zone, or HH:MM[:SS] on the entry's day)")
            yield Input(self.entry.at.strftime("%Y-%m-%dT%H:%M:%SZ"), id="at")
            yield Label("Kind")
            yield Select(
                [(k.value, k.value) for k in Kind], value=self.entry.kind.value,
                allow_blank=False, id="kind",
            )
            yield Label("Text")
            yield Input(self.entry.text, id="text")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def action_save(self) -> None:
        raw_at = self.query_one("#at", Input).value
        text = self.query_one("#text", Input).value.strip()
        kind = self.query_one("#kind", Select).value
        try:
            at = parse_time(raw_at, now=self.entry.at)
        except TimeError as exc:
            self.show_error(str(exc))
            return
        if not text:
            self.show_error("the entry needs some text")
            return
        self.dismiss(EntryEdit(at=at, kind=Kind(str(kind)), text=text))
