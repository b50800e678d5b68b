"""Incident header: id, title, severity, status, the running clock and the wall time.

On a narrow terminal (a phone's SSH app is 40-odd columns) the line keeps what a responder
looks for: the wall time goes first, then the status word, so severity and the incident
clock always fit; the title and id are cut with an ellipsis.
"""

from __future__ import annotations

import functools

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from warroom.widgets.pane import Painted
from warroom.widgets.text import clean
from warroom.widgets.views import HeaderView

SEVERITY_STYLE = {
    "SEV1": "bold white on red",
    "SEV2": "bold black on dark_orange",
    "SEV3": "bold black on yellow",
    "SEV4": "bold black on grey70",
}
NOTE_STYLE = {
    "warning": "bold black on yellow",
    "info": "bold cyan",
    "error": "bold white on red",
    "ok": "green",
}
STATUS_STYLE = {
    "investigating": "bold red",
    "identified": "bold yellow",
    "monitoring": "bold cyan",
    "resolved": "bold green",
}


class HeaderPart(Painted[Text]):
    """One run of the header's line; each paints only when its own text changed."""

    DEFAULT_CSS = """
    HeaderPart {
        height: 1;
        width: auto;
    }
    """

    def render_view(self, view: Text, width: int, height: int) -> list[Text]:
        return [view]


class IncidentHeader(Horizontal):
    """One line in three widgets: severity and status, the clocks, the rest. Each second only
    the clocks' widget is painted and composed: as one widget, the whole line (a dozen
    styled runs) went through the paint and Textual's styles cache for two changed digits."""

    BLANK = True  # widgets/blank.py: a background its parts cover

    DEFAULT_CSS = """
    IncidentHeader {
        dock: top;
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    IncidentHeader > #header-tail {
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: HeaderView | None = None
        self._parts = [HeaderPart(id=f"header-{name}") for name in ("lead", "clock", "tail")]
        self._widths = [-1, -1]

    def compose(self) -> ComposeResult:
        yield from self._parts

    def set_view(self, view: HeaderView) -> None:
        """Before the parts are mounted too: each paints once it has its size."""
        self.view = view
        room = self.content_region.width if self.is_mounted else None
        parts = header_parts(view, room or None)
        for index, (part, text) in enumerate(zip(self._parts, parts, strict=True)):
            if index < 2 and self._widths[index] != text.cell_len:
                # Fixed widths, set only when they change (a new status, a day-long clock):
                # ``auto`` would measure the text at every layout.
                self._widths[index] = text.cell_len
                part.styles.width = text.cell_len
            part.set_view(text)

    def on_resize(self) -> None:
        if self.view is not None:  # the room decides what the line keeps
            self.set_view(self.view)

    def render(self) -> Text:
        """The whole line as one Text (what the parts show side by side)."""
        return render_header(self.view) if self.view is not None else Text()


def header_parts(view: HeaderView, room: int | None = None) -> tuple[Text, Text, Text]:
    """Severity and status, the clocks, the rest; within ``room`` cells when given, the wall
    time dropped first and then the status word (severity and the incident clock stay)."""
    lead = _lead(view.severity, view.status)
    wall = view.wall
    clock_cells = len(view.clock) + 2
    if room is not None and lead.cell_len + clock_cells + len(wall) + 2 > room:
        wall = ""
        if lead.cell_len + clock_cells > room:
            lead = _lead(view.severity, "")
    clocks = Text(no_wrap=True, overflow="ellipsis")
    clocks.append(view.clock, style="bold")
    clocks.append("  ")
    if wall:
        clocks.append(wall, style="dim")
        clocks.append("  ")
    return (lead, clocks, _tail(view.notes, view.title, view.incident_id))


# The clocks change every second, the rest seldom: built once per change, not per second.
@functools.lru_cache(maxsize=8)
def _lead(severity: str, status: str) -> Text:
    lead = Text(no_wrap=True, overflow="ellipsis")
    lead.append(f" {severity} ", style=SEVERITY_STYLE.get(severity, "reverse"))
    lead.append(" ")
    if status:
        lead.append(status.upper(), style=STATUS_STYLE.get(status, "bold"))
        lead.append("  ")
    return lead


@functools.lru_cache(maxsize=8)
def _tail(notes: tuple[tuple[str, str], ...], title: str, incident_id: str) -> Text:
    tail = Text(no_wrap=True, overflow="ellipsis")
    for note, level in notes:
        tail.append(clean(note), style=NOTE_STYLE.get(level, "bold"))
        tail.append("  ")
    tail.append(clean(title), style="bold")
    tail.append(f"  {clean(incident_id)}", style="dim")
    return tail


def render_header(view: HeaderView) -> Text:
    return Text("").join(header_parts(view))
