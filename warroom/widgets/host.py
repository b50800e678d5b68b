"""Host pane: the bastion's or database host's CPU, memory, load and TCP sockets to the DB port."""

from __future__ import annotations

from rich.text import Text

from warroom.widgets.pane import Pane
from warroom.widgets.views import HostView

TCP_SHORT = {
    "ESTABLISHED": "est",
    "TIME_WAIT": "tw",
    "CLOSE_WAIT": "cw",
    "SYN_SENT": "syn",
    "SYN_RECV": "synr",
    "FIN_WAIT1": "fw1",
    "FIN_WAIT2": "fw2",
    "LAST_ACK": "lack",
    "CLOSING": "cls",
}


def _pct(label: str, value: float | None) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{label} ", style="dim")
    if value is None:
        line.append("—")
    else:
        # Whole percents: a tenth that flickers every second is noise and costs a repaint.
        line.append(f"{value:3.0f}%", style="bold red" if value >= 90 else "")
    return line


class HostPane(Pane[HostView]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Host", id=id)

    def render_view(self, view: HostView, width: int, height: int) -> list[Text]:
        load = Text(no_wrap=True, overflow="ellipsis")
        load.append("load ", style="dim")
        load.append(" ".join(f"{x:.2f}" for x in view.load) if view.load else "—")
        tcp = Text(no_wrap=True, overflow="ellipsis")
        tcp.append("tcp ", style="dim")
        tcp.append(" ".join(f"{TCP_SHORT.get(state, state.lower())} {n}" for state, n in view.tcp)
                   or "—")
        return [
            _pct("cpu ", view.cpu_percent),
            _pct("mem ", view.mem_percent),
            _pct("swap", view.swap_percent),
            load,
            tcp,
        ]
