"""Latency pane: query round trip p50/p95/p99, the connect probe and its refusals."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.console import Group
from rich.table import Table
from rich.text import Text

from warroom.widgets.pane import LEVEL_STYLE, Pane
from warroom.widgets.spark import bucket, chart


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


class LatencyPane(Pane[LatencyView]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Latency", id=id)

    def display_key(self, view: LatencyView, width: int) -> object:
        # Values as shown (0.41 and 0.44 ms are both "0.4ms") and the chart's columns.
        cols = tuple(bucket(view.history, view.now, view.span_s, width))
        shown = tuple(fmt_ms(v) for v in (view.p50_ms, view.p95_ms, view.p99_ms, view.connect_ms))
        plain = replace(
            view, history=(), now=0.0, p50_ms=None, p95_ms=None, p99_ms=None, connect_ms=None
        )
        return (plain, shown, cols)

    def render_view(self, view: LatencyView, width: int, height: int) -> Group:
        style = LEVEL_STYLE.get(view.level, "")
        grid = Table.grid(expand=True, padding=(0, 1, 0, 0))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        grid.add_row("p50", fmt_ms(view.p50_ms), "")
        grid.add_row("p95", Text(fmt_ms(view.p95_ms), style=style), "")
        grid.add_row("p99", fmt_ms(view.p99_ms), "")
        grid.add_row("connect", fmt_ms(view.connect_ms), "")
        refused = Text(str(view.refused), style="bold red" if view.refused else "")
        grid.add_row("refused", refused, Text(f" {view.probe_error}", style="red"))
        rows = chart(view.history, view.now, view.span_s, width, max(height - 5, 1))
        return Group(grid, *(Text(r, style=style or "magenta", no_wrap=True) for r in rows))
