"""Base for the dashboard's panes: a bordered Static that redraws only when its content changed."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType
from textual.widgets import Static

LEVEL_STYLE = {"ok": "green", "warning": "yellow", "critical": "bold red", "down": "bold red"}


class Pane(Static):
    DEFAULT_CSS = """
    Pane {
        border: round $primary-darken-1;
        border-title-color: $text;
        padding: 0 1;
        height: 100%;
    }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = title
        self._last_key: object = None
        self.rendered: RenderableType = ""  # what the pane shows now (tests read it as text)

    def show(self, key: object, renderable_factory: Callable[[], RenderableType]) -> None:
        """Redraw only when ``key`` changed: an unchanged pane costs no terminal output."""
        if key == self._last_key:
            return
        self._last_key = key
        self.rendered = renderable_factory()
        self.update(self.rendered)
