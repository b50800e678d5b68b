"""Show the postmortem draft that was just written beside the session file."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, MarkdownViewer, Static


class PostmortemScreen(Screen[None]):
    DEFAULT_CSS = """
    PostmortemScreen #where { dock: top; height: 1; background: $panel; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,p", "app.pop_screen", "Back", id="postmortem.back")]

    def __init__(self, markdown: str, path: Path) -> None:
        super().__init__()
        self.markdown = markdown
        self.path = path

    def compose(self) -> ComposeResult:
        yield Static(f"draft written to {self.path}", id="where", markup=False)
        yield MarkdownViewer(self.markdown, show_table_of_contents=False)
        yield Footer()
