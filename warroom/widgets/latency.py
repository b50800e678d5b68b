"""Latency pane: query round trip p50/p95/p99, the connect probe and its refusals."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.text import Text

from warroom.widgets.pane import LEVEL_STYLE, Pane
from warroom.widgets.spark import sparkline


@dataclass(frozen=True, slots=True)
class LatencyView:
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    connect_ms: float | None
    refused: int  # connect probe refusals in the window
    probe_error: str  # "" or e.g. "too_many_connections 53300"
    level: str
    history: tuple[tuple[float, float], ...]  # (unix time, query ms)
    now: float
    span_s: float = 600.0


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:.1f}s"
    if value >= 100:
        return f"{value:.0f}ms"
    return f"{value:.1f}ms"


class LatencyPane(Pane):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Latency", id=id)

    def set_view(self, view: LatencyView) -> None:
        width = max(self.content_size.width, 16)
        self.show((view, width), lambda: self._render_view(view, width))

    def _render_view(self, view: LatencyView, width: int) -> Group:
        style = LEVEL_STYLE.get(view.level, "")
        query = Text(no_wrap=True, overflow="ellipsis")
        query.append("query ", style="dim")
        query.append(f"p50 {fmt_ms(view.p50_ms)} ")
        query.append(f"p95 {fmt_ms(view.p95_ms)}", style=style)
        p99 = Text(no_wrap=True)
        p99.append("      p99 ", style="dim")
        p99.append(fmt_ms(view.p99_ms))
        connect = Text(no_wrap=True, overflow="ellipsis")
        connect.append("connect ", style="dim")
        connect.append(fmt_ms(view.connect_ms))
        refused = Text(no_wrap=True, overflow="ellipsis")
        refused.append("refused ", style="dim")
        refused.append(str(view.refused), style="bold red" if view.refused else "")
        if view.probe_error:
            refused.append(f" {view.probe_error}", style="red")
        chart = sparkline(view.history, view.now, view.span_s, width)
        return Group(query, p99, connect, refused, Text(chart, style=style or "magenta"))
