"""The page's SVG charts (issue 23): time labels that differ at any length and marks at each
key moment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from warroom.sessions.model import SampleRollup
from warroom.web import charts

_TICK = re.compile(r'<text class="tick" x="[\d.]+" y="175" text-anchor="\w+">([^<]*)</text>')
_MARK = re.compile(r'<text class="mark-label" x="[\d.]+" y="([\d.]+)" text-anchor="\w+">(\w+)<')


def _draw(start: datetime, end: datetime, marks: dict[str, datetime]) -> dict[str, str]:
    samples = [SampleRollup(at=start + timedelta(seconds=10 * i), samples=10, conn_max=10 + i,
                            max_connections=100, query_p95_ms=5.0, refused=1)
               for i in range(int((end - start).total_seconds() // 10))]
    return charts.render_all(samples, start, end, lambda r: r.conn_max,
                             lambda r: r.max_connections, marks)


def test_a_three_minute_chart_labels_its_ticks_to_the_second() -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    drawn = _draw(start, start + timedelta(minutes=3), {})
    for svg in drawn.values():
        assert _TICK.findall(svg) == ["09:00:00", "09:01:30", "09:03:00"]


def test_a_chart_across_midnight_carries_the_dates() -> None:
    start = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    drawn = _draw(start, start + timedelta(hours=2), {})
    assert _TICK.findall(drawn["connections"]) == ["11-24 23:00", "11-25 00:00", "01:00"]


def test_every_key_moment_is_marked_and_close_ones_do_not_overlap() -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    marks = {"detected_at": start + timedelta(minutes=5),
             "identified_at": start + timedelta(minutes=6),
             "mitigated_at": start + timedelta(minutes=30),
             "resolved_at": start + timedelta(minutes=60)}
    drawn = _draw(start, start + timedelta(minutes=60), marks)
    found = _MARK.findall(drawn["latency"])
    assert [label for _, label in found] == ["detected", "identified", "mitigated", "resolved"]
    rows = {label: float(y) for y, label in found}
    assert rows["detected"] != rows["identified"]  # a minute apart: on two rows
    assert rows["mitigated"] == rows["detected"]
    assert drawn["latency"].count('<line class="mark"') == 4
