"""Incident header: id, title, severity, status, the running clock and the wall time."""

from __future__ import annotations

from rich.text import Text

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


class IncidentHeader(Painted[HeaderView]):
    """One line; each second only the clock's changed digits are sent to the terminal."""

    DEFAULT_CSS = """
    IncidentHeader {
        dock: top;
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    """

    def render_view(self, view: HeaderView, width: int, height: int) -> list[Text]:
        return [render_header(view)]


def render_header(view: HeaderView) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {view.severity} ", style=SEVERITY_STYLE.get(view.severity, "reverse"))
    text.append(" ")
    text.append(view.status.upper(), style=STATUS_STYLE.get(view.status, "bold"))
    text.append("  ")
    text.append(view.clock, style="bold")
    text.append("  ")
    text.append(view.wall, style="dim")
    text.append("  ")
    for note, level in view.notes:
        text.append(clean(note), style=NOTE_STYLE.get(level, "bold"))
        text.append("  ")
    text.append(clean(view.title), style="bold")
    text.append(f"  {clean(view.incident_id)}", style="dim")
    return text
