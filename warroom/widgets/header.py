"""Incident header: id, title, severity, status, the running clock and the wall time."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from warroom.widgets.pane import Painted
from warroom.widgets.text import clean

SEVERITY_STYLE = {
    "SEV1": "bold white on red",
    "SEV2": "bold black on dark_orange",
    "SEV3": "bold black on yellow",
    "SEV4": "bold black on grey70",
}
STATUS_STYLE = {
    "investigating": "bold red",
    "identified": "bold yellow",
    "monitoring": "bold cyan",
    "resolved": "bold green",
}


@dataclass(frozen=True, slots=True)
class HeaderView:
    incident_id: str
    title: str
    severity: str
    status: str
    clock: str  # "T+01:02:03"; stops at resolution
    wall: str  # "09:12:33 UTC"
    sharing: str = ""  # "shared", "3 pending", "ops DB unreachable 2m"; "" when not shared


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
    if view.sharing:
        # Before the title, which is what an ellipsis cuts on a narrow terminal.
        style = "green" if view.sharing == "shared" else "bold yellow"
        text.append(clean(view.sharing), style=style)
        text.append("  ")
    text.append(clean(view.title), style="bold")
    text.append(f"  {clean(view.incident_id)}", style="dim")
    return text
