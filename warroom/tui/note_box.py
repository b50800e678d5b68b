"""The note box: `n` opens it (the entry's time is when typing started), Enter saves and the text
stays until the Recorder has fsynced it, Escape hides it and keeps the draft.

Part of the App (a base class of WarroomApp).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from typing import Any

from textual import on
from textual.css.query import NoMatches
from textual.widgets import Input

from warroom.sessions.model import (
    TimelineEntry,
)
from warroom.sessions.times import TimeError
from warroom.tui.base import DashboardBase
from warroom.tui.messages import NoteWritten
from warroom.tui.notes import parse_note
from warroom.widgets.text import clean
from warroom.widgets.timeline import TimelineTable


class NoteBox(DashboardBase):
    def action_note(self) -> None:
        note = self.query_one("#note", Input)
        if not note.display:
            # The entry's time is when typing started, not when Enter is pressed.
            if self._note_started is None:
                self._note_started = self.clock()
            note.display = True
        # Focus now, not on the next loop turn (Widget.focus defers): keys typed right after
        # `n` arrive in the same read and must land in the box, not trigger s, i, q...
        self.screen.set_focus(note)

    @on(Input.Submitted, "#note")
    def save_note(self, event: Input.Submitted) -> None:
        note = event.input
        if self._note_saving is not None:
            self.notify("still saving the previous note", severity="warning")
            return
        started = self._note_started or self.clock()
        try:
            parsed = parse_note(note.value, started)
        except TimeError as exc:
            self.notify(str(exc), title="not saved", severity="error")
            return
        if not parsed.text:
            self.hide_note()
            return
        recorder = self.sink.writer()
        entry = TimelineEntry(
            at=parsed.at, text=parsed.text, kind=parsed.kind, author=self.author,
            source=self.sink.note_source,
        )  # fmt: skip
        typed = note.value
        self._note_saving = typed
        note.border_title = "saving…"
        future = recorder.append_entry(entry)

        def finished(f: Future[Any]) -> None:
            exc = f.exception()
            self.post_message(NoteWritten(typed, clean(str(exc)) if exc else None))

        # The text stays in the box until the Recorder has fsynced it: a failed write loses
        # nothing, and the screen answers keys meanwhile.
        future.add_done_callback(finished)

    def on_note_written(self, message: NoteWritten) -> None:
        with contextlib.suppress(NoMatches):
            self.note_written(message)

    def note_written(self, message: NoteWritten) -> None:
        self._note_saving = None
        note = self.query_one("#note", Input)
        note.border_title = None
        if message.error is not None:
            note.border_title = "not saved"
            self.notify(message.error, title="note not saved (it is still in the box)",
                        severity="error", timeout=15)  # fmt: skip
            return
        if note.value == message.text:
            note.value = ""
            self._note_started = None
            if self.focused is note:
                self.hide_note()
            else:
                note.display = False
        self.refresh_record()

    def hide_note(self) -> None:
        note = self.query_one("#note", Input)
        note.display = False
        self.screen.set_focus(self.query_one(TimelineTable))

    def on_key(self, event: Any) -> None:
        if event.key != "escape":
            return
        if self.focused is self.query_one("#note", Input):
            # Hide, keep the draft: `n` brings it back with its original start time.
            event.stop()
            self.hide_note()
        elif self.screen.query("HelpPanel"):
            event.stop()
            self.action_hide_help_panel()

    def unsaved_note(self) -> str:
        """The note box's text when it is not on disk nor on its way there ("" when none)."""
        text = self.query_one("#note", Input).value
        return text if text.strip() and text != self._note_saving else ""
