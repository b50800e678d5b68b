"""Tiny block-character charts: cheap to redraw, readable over a slow SSH link."""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"


def bucket(
    points: Sequence[tuple[float, float]], now: float, span: float, width: int
) -> list[float | None]:
    """Columns of ``span / width`` seconds ending at ``now``, each holding its peak (spikes matter).

    ``points`` are (unix time, value) in time order. Time-based columns treat 1 s live samples
    and 10 s rollups read back from a session alike, and show a gap where nothing was sampled.
    """
    if width <= 0:
        return []
    cols: list[float | None] = [None] * width
    start = now - span
    per_second = width / span
    last = width - 1
    # Runs every second per chart over up to 600 points: plain arithmetic, no calls per point.
    for at, value in reversed(points):
        if at < start:
            break
        col = int((at - start) * per_second)
        if col > last:
            col = last
        current = cols[col]
        if current is None or value > current:
            cols[col] = value
    return cols


def sparkline(
    points: Sequence[tuple[float, float]],
    now: float,
    span: float,
    width: int,
    top: float | None = None,
) -> str:
    """One row of blocks scaled to ``top`` (default: the peak); gaps show as ``·``."""
    return _row(bucket(points, now, span, width), top)


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


class Columns:
    """A pane's chart columns, bucketed once per view and width: the pane's redraw key and its
    picture both need them (each bucketing is a pass over the span's points, 600 of them once
    the dashboard has run ten minutes, every second)."""

    def __init__(self) -> None:
        self._last: tuple[object, int, tuple[float | None, ...]] | None = None

    def of(
        self, view: object, points: Sequence[tuple[float, float]], now: float, span: float,
        width: int,
    ) -> tuple[float | None, ...]:
        last = self._last
        if last is not None and last[0] is view and last[1] == width:
            return last[2]
        cols = tuple(bucket(points, now, span, width))
        self._last = (view, width, cols)
        return cols


def chart(
    points: Sequence[tuple[float, float]],
    now: float,
    span: float,
    width: int,
    height: int,
    top: float | None = None,
) -> list[str]:
    """A block chart ``height`` rows tall (top row first); one row is ``sparkline``."""
    return chart_of(bucket(points, now, span, width), height, top)


def chart_of(cols: Sequence[float | None], height: int, top: float | None = None) -> list[str]:
    """``chart`` of columns already bucketed."""
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
