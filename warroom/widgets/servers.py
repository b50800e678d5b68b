"""The servers strip (one line per watched server) and the selected server's replication pane.

Fed plain views; no I/O. Server names come from the user's config or DSNs and standby names from
the server: data, sanitised, never markup.
"""

from __future__ import annotations

from rich.text import Text

from warroom.formats import format_bytes
from warroom.widgets.pane import LEVEL_STYLE, Painted, Pane
from warroom.widgets.text import clean
from warroom.widgets.views import ReplicationView, ServerRow, ServersView

NAME_CELLS = 11  # with the other columns, 80 cells leave room for the lag's seconds


def _lag(row: ServerRow) -> str:
    seconds = "" if row.lag_s is None else f" {row.lag_s:.0f}s"
    if row.replay_paused:
        return f"replay paused {format_bytes(row.lag_bytes)}{seconds}"
    if row.standbys == 0:
        return "no standby"
    if row.lag_bytes is None and row.lag_s is None:
        return "—"
    return f"lag {format_bytes(row.lag_bytes)}{seconds}"


def _state_style(state: str) -> str:
    if state == "up":
        return "green"
    return "bold red" if state.startswith("DOWN") else "yellow"


def short_name(name: str, cells: int = NAME_CELLS) -> str:
    """Cut in the middle: ``db-ord…:5433`` keeps the port that tells same-host servers apart."""
    name = clean(name, 200)
    if len(name) <= cells:
        return name
    tail = (cells - 1) // 2
    return name[: cells - 1 - tail] + "…" + name[-tail:]


def render_row(index: int, row: ServerRow, selected: bool) -> Text:
    """``2▸replica-1   replica up          12/47 p95   2ms ref 0  replay paused 48.0M 14s``:
    the state before the figures, so a narrow terminal cuts the lag, never who is down."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{index + 1}", style="bold reverse" if selected else "dim")
    line.append("▸" if selected else " ", style="bold")
    line.append(f"{short_name(row.name):<{NAME_CELLS}} ", style="bold" if selected else "")
    line.append(f"{(row.role or '?'):<7} ", style="magenta" if row.role == "replica" else "cyan")
    line.append(f"{row.state:<8} ", style=_state_style(row.state))
    # A server that is not answering keeps its last figures, dimmed: known, but not now.
    live = row.state == "up"
    used = "—" if row.used is None else f"{row.used}/{row.usable}"
    line.append(f"{used:>6} ", style=LEVEL_STYLE.get(row.level, "") if live else "dim")
    p95 = "—" if row.p95_ms is None else f"{row.p95_ms:.0f}ms"
    line.append("p95 ", style="dim")
    line.append(f"{p95:>5} ", style="" if live else "dim")
    line.append("ref ", style="dim")
    line.append(f"{row.refused:<2} ", style="bold red" if row.refused else "")
    line.append(_lag(row), style=("yellow" if row.replay_paused else "") if live else "dim")
    return line


class ServersStrip(Painted[ServersView]):
    DEFAULT_CSS = """
    ServersStrip {
        height: auto;
        max-height: 9;
        padding: 0 1;
    }
    """

    def render_view(self, view: ServersView, width: int, height: int) -> list[Text]:
        return [render_row(i, row, i == view.selected) for i, row in enumerate(view.rows)]

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.view.rows) if self.view is not None else 1


class ReplicationPane(Pane[ReplicationView]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Replication", id=id)

    def render_view(self, view: ReplicationView, width: int, height: int) -> list[Text]:
        if not view.lines:
            return [Text("—" if view.role is None else f"{view.role}: no replication",
                         style="dim")]  # fmt: skip
        out = []
        for text, level in view.lines[:height]:
            out.append(Text(clean(text, 80), no_wrap=True, overflow="ellipsis",
                            style=LEVEL_STYLE.get(level, "") if level != "ok" else ""))  # fmt: skip
        return out
