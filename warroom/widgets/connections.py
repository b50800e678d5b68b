"""Connections pane: used/max against usable slots, by state, waiting, who holds them."""

from __future__ import annotations

import textwrap
from dataclasses import replace

from rich.text import Text

from warroom.widgets.pane import LEVEL_STYLE, Pane
from warroom.widgets.spark import bar, chart_of, columns
from warroom.widgets.text import clean
from warroom.widgets.views import ConnectionsView

NOTE_LINES = 2  # why the server log is not read
LEVEL_WORD = {"warning": " WARN", "critical": " CRIT"}

STATE_SHORT = {
    "active": "active",
    "idle": "idle",
    "idle in transaction": "idle-tx",
    "idle in transaction (aborted)": "idle-tx-abrt",
    "fastpath function call": "fastpath",
    "disabled": "disabled",
}


class ConnectionsPane(Pane[ConnectionsView]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Connections", id=id)

    def display_key(self, view: ConnectionsView, width: int) -> object:
        # The chart is what moves: its columns, not every point or the clock, decide a redraw.
        cols = columns(view.chart, width)
        return (replace(view, chart=None), cols)

    def render_view(self, view: ConnectionsView, width: int, height: int) -> list[Text]:
        style = LEVEL_STYLE.get(view.level, "")
        lines: list[Text] = []
        if view.total is None:
            lines.append(Text("no data yet" if not view.banner else "", style="dim"))
        else:
            head = Text()
            head.append(f"{view.total}", style=style or "bold")
            if view.usable is None:
                # Counted from process titles before warroom ever read max_connections: the
                # count is real, a share of an unknown limit would not be.
                head.append(" connections, limit unknown", style="dim")
            else:
                fraction = view.total / view.usable if view.usable else 0.0
                # The level in words too: colour alone fails under NO_COLOR and for
                # colour-blind eyes.
                share = f" {fraction * 100:3.0f}%{LEVEL_WORD.get(view.level, '')}"
                # The figures stay whole on a narrow pane: "usable" goes first, then the bar.
                room = width - len(head) - len(share) - 1  # a cell spare at the right
                label = f"/{view.usable} usable "
                if room - len(label) < 4:
                    label = f"/{view.usable} "
                head.append(label, style="")
                gauge_width = room - len(label)
                if gauge_width >= 4:
                    head.append(bar(fraction, gauge_width), style=style)
                head.append(share, style=style)
            lines.append(head)
            states = Text(no_wrap=True, overflow="ellipsis")
            for name, count in view.by_state:
                states.append(f"{STATE_SHORT.get(name, clean(name, 16))} ", style="dim")
                states.append(f"{count}  ")
            states.append("waiting ", style="dim")
            states.append(str(view.waiting), style="bold red" if view.waiting else "")
            lines.append(states)
        lines.extend(self._refused(view, width))
        if view.banner:
            lines.append(Text(view.banner, style="bold red" if view.level == "down" else "yellow"))
        # Apps first (the bad pool must stand out), then the chart takes what is left.
        spare = max(height - len(lines), 1)
        app_rows = min(len(view.top), max(spare - 2, 0)) if spare > 2 else 0
        count_w = 6
        for name, count in view.top[:app_rows]:
            line = Text(clean(name) or "(no name)", no_wrap=True, overflow="ellipsis")
            line.truncate(max(width - count_w, 1), overflow="ellipsis", pad=True)
            line.append(str(count).rjust(count_w))
            lines.append(line)
        cols = columns(view.chart, width)
        rows = chart_of(cols, max(spare - app_rows, 1), top=view.max)
        lines.extend(Text(row, style=style or "cyan", no_wrap=True) for row in rows)
        return lines


    @staticmethod
    def _refused(view: ConnectionsView, width: int) -> list[Text]:
        """Refused in the last minute: by the server (every client, from its log) beside
        warroom's own probe; and why the log is not read, when it is not. Shown only where a
        server log is read or asked for."""
        if view.server_refused is None and not view.server_log_note:
            return []
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("refused/min ", style="dim")
        line.append("server ", style="dim")
        if view.server_refused is None:
            line.append("?", style="yellow")
        else:
            line.append(f"{view.server_refused:,}", style="bold red" if view.server_refused else "")
        line.append("  probe ", style="dim")
        line.append(str(view.probe_refused), style="bold red" if view.probe_refused else "")
        line.truncate(max(width, 1), overflow="ellipsis")
        lines = [line]
        if view.server_log_note:
            # Two lines at most: the reason's start says what is missing (the fix is in doctor).
            wrapped = textwrap.wrap(f"server log: {clean(view.server_log_note, 200)}",
                                    max(width, 8))  # fmt: skip
            for i, part in enumerate(wrapped[:NOTE_LINES]):
                more = i == NOTE_LINES - 1 and len(wrapped) > NOTE_LINES
                note = Text(part + (" …" if more else ""), style="dim", no_wrap=True,
                            overflow="ellipsis")  # fmt: skip
                note.truncate(max(width, 1), overflow="ellipsis")
                lines.append(note)
        return lines
