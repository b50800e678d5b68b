"""Latency pane: query round trip p50/p95/p99, the connect probe and its refusals."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len
from rich.text import Text

from warroom.formats import ms
from warroom.widgets.pane import LEVEL_STYLE, Pane
from warroom.widgets.spark import chart_of, columns
from warroom.widgets.views import LatencyView


class LatencyPane(Pane[LatencyView]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Latency", id=id)

    def display_key(self, view: LatencyView, width: int) -> object:
        # Values as shown (0.41 and 0.44 ms are both "0.4ms") and the chart's columns.
        cols = columns(view.chart, width)
        shown = tuple(ms(v) for v in (view.p50_ms, view.p95_ms, view.p99_ms, view.connect_ms))
        plain = replace(
            view, chart=None, p50_ms=None, p95_ms=None, p99_ms=None, connect_ms=None
        )
        return (plain, shown, cols)

    def render_view(self, view: LatencyView, width: int, height: int) -> list[Text]:
        style = LEVEL_STYLE.get(view.level, "")
        values = [ms(v) for v in (view.p50_ms, view.p95_ms, view.p99_ms, view.connect_ms)]
        values.append(str(view.refused))
        styles = ["", style, "", "", "bold red" if view.refused else ""]
        labels = ("p50", "p95", "p99", "connect", "refused")
        label_w = max(len(label) for label in labels)
        value_w = max(cell_len(v) for v in values)
        lines = []
        for label, value, value_style in zip(labels, values, styles, strict=True):
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"{label:<{label_w}} ", style="dim")
            line.append(value.rjust(value_w), style=value_style)
            lines.append(line)
        if view.probe_error:
            lines[-1].append(f" {view.probe_error}", style="red")
        cols = columns(view.chart, width)
        rows = chart_of(cols, max(height - 5, 1))
        return lines + [Text(r, style=style or "magenta", no_wrap=True) for r in rows]
