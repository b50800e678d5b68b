"""Tiny block-character charts: cheap to redraw, readable over a slow SSH link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warroom.collectors.series import Chart

BLOCKS = " ▁▂▃▄▅▆▇█"


def columns(chart: Chart | None, width: int) -> tuple[float | None, ...]:
    """A view's chart in ``width`` columns (none when the view has no chart)."""
    return chart.columns(width) if chart is not None else ()


def _row(cols: Sequence[float | None], top: float | None) -> str:
    present = [v for v in cols if v is not None]
    peak = top if top is not None else (max(present) if present else 0.0)
    chars = []
    for value in cols:
        if value is None:
            chars.append("·" if present else " ")
        elif peak <= 0:
            chars.append(BLOCKS[1])
        else:
            level = round(min(value / peak, 1.0) * (len(BLOCKS) - 2)) + 1
            chars.append(BLOCKS[level])
    return "".join(chars)


def bar(fraction: float, width: int) -> str:
    """A horizontal gauge ``█████░░░░`` for 0..1 (clamped)."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def chart_of(cols: Sequence[float | None], height: int, top: float | None = None) -> list[str]:
    """A block chart ``height`` rows tall (top row first) of a series' columns
    (``Series.columns``), scaled to ``top`` (default: the peak); one row shows gaps as ``·``."""
    if height <= 1:
        return [_row(cols, top)]
    present = [v for v in cols if v is not None]
    peak = top if top is not None else (max(present) if present else 0.0)
    steps = len(BLOCKS) - 1
    levels = []
    for value in cols:
        if value is None or peak <= 0:
            levels.append(0 if value is None else 1)
        else:
            levels.append(max(round(min(value / peak, 1.0) * height * steps), 1))
    rows = []
    for row in range(height - 1, -1, -1):
        base = row * steps
        chars = []
        for level in levels:
            fill = min(max(level - base, 0), steps)
            chars.append(BLOCKS[fill])
        rows.append("".join(chars))
    return rows
