"""Base for the dashboard's panes: a bordered Static that redraws only when its content changed."""

from __future__ import annotations

from typing import Generic, TypeVar

from rich.console import RenderableType
from textual.widgets import Static

LEVEL_STYLE = {"ok": "green", "warning": "yellow", "critical": "bold red", "down": "bold red"}

V = TypeVar("V")


class Pane(Static, Generic[V]):
    """Shows one view (plain, comparable data); subclasses say how it looks at a given size."""

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
        self.view: V | None = None
        self._last_key: object = None
        self.rendered: RenderableType = ""  # what the pane shows now (tests read it as text)

    def set_view(self, view: V) -> None:
        """Redraw only when the view or the size changed: an unchanged pane costs no output."""
        self.view = view
        width = max(self.content_size.width, 10)
        height = max(self.content_size.height, 3)
        key = (view, width, height)
        if key == self._last_key:
            return
        self._last_key = key
        self.rendered = self.render_view(view, width, height)
        self.update(self.rendered)

    def render_view(self, view: V, width: int, height: int) -> RenderableType:
        raise NotImplementedError

    def on_resize(self) -> None:
        if self.view is not None:
            self.set_view(self.view)
