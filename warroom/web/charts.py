"""Server-rendered SVG charts, built from numbers only (never from record text).

SVG drawn here works with JavaScript off, prints, needs no chart library and no external asset,
and the live page swaps a chart for the newer markup the server sends. Colours and lines come
from classes styled in static/style.css (the page's CSP forbids inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from warroom.sessions.model import SampleRollup
from warroom.sessions.postmortem.stamps import axis_labels

# A small viewBox, so the labels stay readable when the chart is scaled down to a phone.
WIDTH, HEIGHT = 420, 180
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 24, 22
# Enough columns for a sharp line at any width the page uses, few enough to stay small markup.
MAX_BUCKETS = 300

Figure = Callable[[SampleRollup], float | int | None]


def _plot_w() -> float:
    return WIDTH - LEFT - RIGHT


def _plot_h() -> float:
    return HEIGHT - TOP - BOTTOM


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Frame:
    """Time on x from ``start`` to ``end``, split into buckets no finer than the rollups."""

    def __init__(self, samples: Sequence[SampleRollup], start: datetime, end: datetime) -> None:
        self.start = start
        span = max((end - start).total_seconds(), 1.0)
        step = max(min((r.seconds for r in samples), default=10.0), 1.0)
        self.count = max(1, min(MAX_BUCKETS, math.ceil(span / step)))
        self.span = span
        self.width = span / self.count

    def bucket(self, at: datetime) -> int:
        offset = (at - self.start).total_seconds()
        return min(max(int(offset // self.width), 0), self.count - 1)

    def x(self, bucket: float) -> float:
        return LEFT + _plot_w() * bucket / self.count

    def collect(
        self, samples: Sequence[SampleRollup], figure: Figure, combine: Callable[..., float]
    ) -> list[float | None]:
        values: list[float | None] = [None] * self.count
        for rollup in samples:
            value = figure(rollup)
            if value is None:
                continue
            i = self.bucket(rollup.at)
            old = values[i]
            values[i] = float(value) if old is None else combine(old, float(value))
        return values


def _y(value: float, top: float) -> float:
    return TOP + _plot_h() * (1 - min(value / top, 1.0))


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 1.2, 1.5, 2 ... times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _path(frame: _Frame, values: Sequence[float | None], top: float) -> str:
    """A line through bucket centres, broken where nothing was recorded."""
    parts: list[str] = []
    pen_down = False
    for i, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        x, y = frame.x(i + 0.5), _y(value, top)
        parts.append(f"{'L' if pen_down else 'M'}{_n(x)} {_n(y)}")
        pen_down = True
    return " ".join(parts)


def _axes(frame: _Frame, top: float) -> list[str]:
    bottom = TOP + _plot_h()
    out = [
        f'<line class="axis" x1="{LEFT}" y1="{_n(bottom)}" x2="{WIDTH - RIGHT}" '
        f'y2="{_n(bottom)}"/>',
        f'<line class="grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">'
        f"{_n(top)}</text>",
        f'<text class="tick" x="{LEFT - 4}" y="{_n(bottom)}" text-anchor="end">0</text>',
    ]
    end = frame.start + timedelta(seconds=frame.span)
    ticks = ((0.0, "start"), (0.5, "middle"), (1.0, "end"))
    # Labels that differ: seconds for a short incident, the date across midnight.
    labels = axis_labels([frame.start + (end - frame.start) * f for f, _ in ticks])
    for (fraction, anchor), label in zip(ticks, labels, strict=True):
        x = LEFT + _plot_w() * fraction
        out.append(
            f'<text class="tick" x="{_n(x)}" y="{HEIGHT - 5}" text-anchor="{anchor}">'
            f"{label}</text>"
        )
    return out


# Key moments drawn on every chart; the labels are ours, never text from the record.
MARK_LABELS = {"detected_at": "detected", "identified_at": "identified",
               "mitigated_at": "mitigated", "resolved_at": "resolved"}
# Marks closer than this (in viewBox units) put their labels on alternate rows.
MARK_LABEL_GAP = 56


def _marks(frame: _Frame, marks: dict[str, datetime]) -> list[str]:
    out: list[str] = []
    bottom = TOP + _plot_h()
    last_x: float | None = None
    row = 0
    for name, label in MARK_LABELS.items():
        at = marks.get(name)
        if at is None:
            continue
        offset = (at - frame.start).total_seconds()
        if not 0 <= offset <= frame.span:
            continue
        x = LEFT + _plot_w() * offset / frame.span
        anchor = "end" if x > WIDTH - 60 else "start"
        dx = -3 if anchor == "end" else 3
        # Two moments close together (detected and identified a minute apart) would print
        # their words over each other: the second goes one row up.
        row = 1 - row if last_x is not None and abs(x - last_x) < MARK_LABEL_GAP else 0
        last_x = x
        out.append(
            f'<line class="mark" x1="{_n(x)}" y1="{TOP}" x2="{_n(x)}" y2="{_n(bottom)}"/>'
            f'<text class="mark-label" x="{_n(x + dx)}" y="{TOP - 6 - 9 * row}" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    return out


def _svg(name: str, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{name}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
        + "".join(body)
        + "</svg>"
    )


def _empty(name: str, message: str = "no samples recorded") -> str:
    return _svg(
        name,
        message,
        [f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
         f"{message}</text>"],
    )


def connections_chart(
    frame: _Frame, samples: Sequence[SampleRollup], conn: Figure, usable: Figure,
    marks: dict[str, datetime],
) -> str:
    used = frame.collect(samples, conn, max)
    slots = frame.collect(samples, usable, max)
    known = [v for v in used + slots if v is not None]
    if not known:
        return _empty("connections")
    top = _nice_top(max(known) * 1.05)
    peak = max((v for v in used if v is not None), default=0.0)
    body = _axes(frame, top) + _marks(frame, marks)
    body.append(f'<path class="limit" d="{_path(frame, slots, top)}"/>')
    body.append(f'<path class="line conn" d="{_path(frame, used, top)}"/>')
    return _svg("connections", f"connections, peak {_n(peak)}", body)


def latency_chart(
    frame: _Frame, samples: Sequence[SampleRollup], marks: dict[str, datetime]
) -> str:
    p95 = frame.collect(samples, lambda r: r.query_p95_ms, max)
    known = [v for v in p95 if v is not None]
    if not known:
        return _empty("latency")
    top = _nice_top(max(known) * 1.05)
    body = _axes(frame, top) + _marks(frame, marks)
    body.append(f'<path class="line p95" d="{_path(frame, p95, top)}"/>')
    return _svg("latency", f"p95 latency, peak {_n(max(known))} ms", body)


def refusals_chart(
    frame: _Frame, samples: Sequence[SampleRollup], marks: dict[str, datetime]
) -> str:
    refused = frame.collect(samples, lambda r: r.refused, lambda a, b: a + b)
    if not samples:
        return _empty("refusals")
    top = _nice_top(max((v or 0.0 for v in refused), default=0.0))
    body = _axes(frame, top) + _marks(frame, marks)
    bar = max(_plot_w() / frame.count, 1.0)
    for i, value in enumerate(refused):
        if not value:
            continue
        y = _y(value, top)
        body.append(
            f'<rect class="bar" x="{_n(frame.x(i))}" y="{_n(y)}" width="{_n(bar)}" '
            f'height="{_n(TOP + _plot_h() - y)}"/>'
        )
    total = sum(v or 0.0 for v in refused)
    return _svg("refusals", f"refused connections, {_n(total)} in all", body)


def lag_chart(
    frame: _Frame, samples: Sequence[SampleRollup], marks: dict[str, datetime]
) -> str:
    """Replication lag in MB, the worst of each window (a primary's: its worst standby's)."""
    lag = frame.collect(
        samples, lambda r: None if r.lag_bytes is None else r.lag_bytes / 2**20, max
    )
    known = [v for v in lag if v is not None]
    if not known:
        return _empty("lag", "no replication lag recorded")
    # At least 1 MB tall: a few kB of lag is none to speak of, and an axis of 0.008 reads "0".
    top = _nice_top(max(max(known) * 1.05, 1.0))
    body = _axes(frame, top) + _marks(frame, marks)
    body.append(f'<path class="line lag" d="{_path(frame, lag, top)}"/>')
    return _svg("lag", f"replication lag, peak {_n(max(known))} MB", body)


def render_servers(
    per_server: Sequence[Sequence[SampleRollup]],
    start: datetime,
    end: datetime,
    conn: Figure,
    usable: Figure,
    marks: dict[str, datetime] | None = None,
) -> list[dict[str, str]]:
    """Small multiples: each server's charts on one time frame, so their columns line up."""
    frame = _Frame([r for rollups in per_server for r in rollups], start, end)
    marks = marks or {}
    return [
        {
            "connections": connections_chart(frame, rollups, conn, usable, marks),
            "latency": latency_chart(frame, rollups, marks),
            "refusals": refusals_chart(frame, rollups, marks),
            "lag": lag_chart(frame, rollups, marks),
        }
        for rollups in per_server
    ]


def render_all(
    samples: Sequence[SampleRollup],
    start: datetime,
    end: datetime,
    conn: Figure,
    usable: Figure,
    marks: dict[str, datetime] | None = None,
) -> dict[str, str]:
    frame = _Frame(samples, start, end)
    marks = marks or {}
    return {
        "connections": connections_chart(frame, samples, conn, usable, marks),
        "latency": latency_chart(frame, samples, marks),
        "refusals": refusals_chart(frame, samples, marks),
    }


# -- the history page's small charts (issue 23): one value per month, oldest on the left ----------


def month_chart(
    name: str, label: str, months: Sequence[str], values: Sequence[float | None], unit: str = ""
) -> str:
    """Bars of ``values`` by month (``YYYY-MM``, oldest first); a month without a value has no
    bar. The labels are the first, middle and last months, which warroom makes, never record
    text; ``label`` (ours too) is the chart's accessible name."""
    known = [v for v in values if v is not None]
    if not known:
        return _empty(name, "nothing to chart")
    top = _nice_top(max(known) * 1.05)
    count = len(values)
    width = _plot_w() / count
    bottom = TOP + _plot_h()
    body = [
        f'<line class="axis" x1="{LEFT}" y1="{_n(bottom)}" x2="{WIDTH - RIGHT}" '
        f'y2="{_n(bottom)}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">'
        f"{_n(top)}{unit}</text>",
        f'<text class="tick" x="{LEFT - 4}" y="{_n(bottom)}" text-anchor="end">0</text>',
    ]
    for i, value in enumerate(values):
        if value is None:
            continue
        y = _y(value, top)
        body.append(
            f'<rect class="bar month" x="{_n(LEFT + width * i + width * 0.1)}" y="{_n(y)}" '
            f'width="{_n(max(width * 0.8, 1.0))}" height="{_n(bottom - y)}">'
            f"<title>{months[i]}: {_n(value)}{unit}</title></rect>"
        )
    ticks = sorted({0, count // 2, count - 1})
    for i in ticks:
        anchor = "start" if i == 0 and count > 1 else "end" if i == count - 1 else "middle"
        x = LEFT + width * i + (0 if anchor == "start" else width if anchor == "end" else width / 2)
        body.append(f'<text class="tick" x="{_n(x)}" y="{HEIGHT - 5}" '
                    f'text-anchor="{anchor}">{months[i]}</text>')
    return _svg(name, label, body)
