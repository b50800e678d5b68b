"""Edit one timeline entry: its time, kind and text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from warroom.sessions.model import Kind, TimelineEntry
from warroom.sessions.times import TimeError, parse_time


@dataclass(frozen=True, slots=True)
class EntryEdit:
    at: datetime
    kind: Kind
    text: str


class EntryEditScreen(ModalScreen[EntryEdit | None]):
    DEFAULT_CSS = """
    EntryEditScreen { align: center middle; }
    EntryEditScreen > Vertical {
        width: 90; max-width: 98%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    EntryEditScreen Horizontal { height: auto; }
    EntryEditScreen #error { color: $error; height: auto; }
    EntryEditScreen Button { margin: 1 1 0 0; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="entry.cancel"),
        Binding("ctrl+s", "save", "Save", id="entry.save"),
    ]

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
            yield Static("", id="error")
            with Horizontal():
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        raw_at = self.query_one("#at", Input).value
        text = self.query_one("#text", Input).value.strip()
        kind = self.query_one("#kind", Select).value
        error = self.query_one("#error", Static)
        try:
            at = parse_time(raw_at, now=self.entry.at)
        except TimeError as exc:
            error.update(str(exc))
            return
        if not text:
            error.update("the entry needs some text")
            return
        self.dismiss(EntryEdit(at=at, kind=Kind(str(kind)), text=text))
