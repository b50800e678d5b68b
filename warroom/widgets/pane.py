"""Base for the dashboard's panes: a bordered widget that repaints only the lines that changed.

Over a slow SSH link the bytes a refresh sends are what the responder pays for. A pane keeps the
strips it last painted and asks Textual to repaint only the lines that differ; a view whose
picture did not change (same ``display_key``) costs nothing at all. Painting is deferred to the
end of the current loop turn, so a burst of views (a resumed session, a replay) paints once.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from rich.console import RenderableType
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget

LEVEL_STYLE = {"ok": "green", "warning": "yellow", "critical": "bold red", "down": "bold red"}

V = TypeVar("V")


class Pane(Widget, Generic[V]):
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
        super().__init__(id=id)
        self.border_title = title
        self.view: V | None = None
        self.rendered: RenderableType = ""  # what the pane shows now (tests read it as text)
        self._last_key: object = None
        self._strips: list[Strip] = []
        self._strip_size = (0, 0)
        self._scheduled = False

    def set_view(self, view: V) -> None:
        self.view = view
        if not self._scheduled:
            self._scheduled = True
            self.call_later(self._paint)

    def display_key(self, view: V, width: int) -> object:
        """What the pane shows, cheaply: equal keys mean an identical picture (no render)."""
        return view

    def render_view(self, view: V, width: int, height: int) -> RenderableType:
        raise NotImplementedError

    def _paint(self) -> None:
        self._scheduled = False
        view = self.view
        if view is None:
            return
        width = max(self.content_size.width, 10)
        height = max(self.content_size.height, 3)
        key = (self.display_key(view, width), width, height)
        if key == self._last_key:
            return
        self._last_key = key
        self.rendered = self.render_view(view, width, height)
        visual = visualize(self, self.rendered, markup=False)
        strips = Visual.to_strips(self, visual, width, height, self.visual_style)
        old, self._strips = self._strips, strips
        if self._strip_size != (width, height):
            self._strip_size = (width, height)
            self.refresh()
            return
        for y in range(max(len(old), len(strips))):
            if y >= len(old) or y >= len(strips) or old[y] != strips[y]:
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.rich_style)

    def on_resize(self) -> None:
        if self.view is not None:
            self.set_view(self.view)
