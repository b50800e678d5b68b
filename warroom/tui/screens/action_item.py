"""Add a follow-up to the postmortem's checklist while it is fresh: what, who, which kind, when.

It starts open; `warroom action done|drop ID` closes it from any shell (README "Follow-ups").
"""

from __future__ import annotations

from datetime import date

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select

from warroom.sessions.model import ActionItem, ActionKind, ModelError, check_note_text
from warroom.tui.screens.form import FormScreen


class ActionItemScreen(FormScreen[ActionItem]):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Action item (for the postmortem's checklist)")
            yield Input(placeholder="e.g. cap shop-api's pool at 20 and alert at 80 %", id="text")
            yield Label("Owner")
            yield Input(id="owner")
            yield Label("Kind")
            yield Select(
                [(k.value, k.value) for k in ActionKind], value=ActionKind.PREVENT.value,
                allow_blank=False, id="kind",
            )
            yield Label("Due (YYYY-MM-DD, optional; an open item past it is overdue)")
            yield Input(id="due")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def action_save(self) -> None:
        text = self.query_one("#text", Input).value.strip()
        if not text:
            self.show_error("the action item needs some text")
            return
        try:
            check_note_text(text, "the action item")  # the limit `warroom action add` keeps
        except ModelError as exc:
            self.show_error(str(exc))
            return
        raw_due = self.query_one("#due", Input).value.strip()
        try:
            due = date.fromisoformat(raw_due) if raw_due else None
        except ValueError:
            self.show_error(f"due date {raw_due!r}: use YYYY-MM-DD")
            return
        self.dismiss(
            ActionItem(
                text=text,
                owner=self.query_one("#owner", Input).value.strip(),
                kind=ActionKind(str(self.query_one("#kind", Select).value)),
                due=due,
            )
        )
