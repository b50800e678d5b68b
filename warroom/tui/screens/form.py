"""What every edit dialog shares: Save/Cancel buttons, Enter and ctrl+s save, Esc cancels."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

T = TypeVar("T")


class FormScreen(ModalScreen[T | None]):
    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical {
        width: 90; max-width: 98%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    FormScreen Horizontal { height: auto; }
    FormScreen #error { color: $error; height: auto; }
    FormScreen Button { margin: 1 1 0 0; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def buttons(self) -> ComposeResult:
        """The error line and the two buttons, placed last in a subclass's compose."""
        yield Static("", id="error")
        with Horizontal():
            yield Button("Save (ctrl+s)", variant="primary", id="save")
            yield Button("Cancel (esc)", id="cancel")

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        raise NotImplementedError
