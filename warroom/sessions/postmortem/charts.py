"""Mermaid ``xychart-beta`` charts of the rollups, for one server or each of several."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from datetime import datetime

from warroom.sessions.model import Incident, SampleRollup
from warroom.sessions.postmortem.markdown import clean
from warroom.sessions.postmortem.stamps import _stamp, axis_labels

CHART_POINTS = 48  # a Mermaid chart stays readable on a page

# The key moments marked on the x axis (Mermaid's xychart has no vertical rule): the label of
# the point that holds one says so. Our words, never recorded text.
MARKS: tuple[tuple[str, str], ...] = (
    ("detected_at", "detected"), ("identified_at", "identified"),
    ("mitigated_at", "mitigated"), ("resolved_at", "resolved"),
)


def chart_marks(incident: Incident) -> dict[str, datetime]:
    """The key moments the incident has, by the word the charts write."""
    return {label: at for name, label in MARKS if (at := getattr(incident, name)) is not None}


def _labels(starts: list[datetime], end: datetime, marks: dict[str, datetime]) -> str:
    """Quoted x-axis labels for buckets starting at ``starts``; a bucket holding a key moment
    carries its name. A moment outside the charted time (before the first sample, after the
    last) marks nothing: the caption below still gives its time."""
    shown = axis_labels(starts)
    for label, at in marks.items():
        if not starts or at < starts[0] or at > end:
            continue
        index = bisect.bisect_right(starts, at) - 1
        shown[index] += f" {label}"
    return ", ".join(f'"{text}"' for text in shown)


def _caption(marks: dict[str, datetime]) -> list[str]:
    if not marks:
        return []
    said = ", ".join(f"{label} {_stamp(at)}" for label, at in marks.items())
    return ["", f"Marked on the x axis: {said}."]


def _series(samples: list[SampleRollup], value: Callable[[SampleRollup], float | None],
            buckets: list[list[SampleRollup]]) -> list[float]:
    out: list[float] = []
    for bucket in buckets:
        found = [v for v in (value(s) for s in bucket) if v is not None]
        # A window with no figure (the server was down) charts as 0: Mermaid has no gaps.
        out.append(round(max(found), 1) if found else 0.0)
    return out


def _mermaid(samples: list[SampleRollup], marks: dict[str, datetime] | None = None) -> list[str]:
    """Text charts (Mermaid ``xychart-beta``): GitHub and GitLab draw them in the draft."""
    size = max(1, -(-len(samples) // CHART_POINTS))
    buckets = [samples[i : i + size] for i in range(0, len(samples), size)]
    marks = marks or {}
    labels = _labels([b[0].at for b in buckets], samples[-1].end, marks)
    conns = _series(samples, lambda s: s.conn_max, buckets)
    usable = _series(samples, lambda s: s.usable_slots, buckets)
    p95 = _series(samples, lambda s: s.query_p95_ms, buckets)
    top = max([*conns, *usable, 1.0])
    lines = ["", "Connections (peak per window) against usable slots:", "", "```mermaid",
             "xychart-beta", '    title "Connections against usable slots"',
             f"    x-axis [{labels}]", f'    y-axis "connections" 0 --> {int(top * 1.1) + 1}',
             f"    line [{', '.join(f'{v:g}' for v in conns)}]",
             f"    line [{', '.join(f'{v:g}' for v in usable)}]", "```"]
    if any(p95):
        lines += ["", "Query round trip p95 (ms):", "", "```mermaid", "xychart-beta",
                  '    title "Query round trip p95 (ms)"', f"    x-axis [{labels}]",
                  f'    y-axis "ms" 0 --> {int(max(p95) * 1.1) + 1}',
                  f"    line [{', '.join(f'{v:g}' for v in p95)}]", "```"]
    return lines + _caption(marks)


# Mermaid titles are quoted strings with their own syntax; a server name keeps only characters
# that mean nothing to it (the name is written out in full, escaped, in the heading above).
_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._:/@+\-]")


def _mermaid_name(name: str) -> str:
    return _MERMAID_UNSAFE.sub("?", " ".join(clean(name).split()))[:40] or "?"


def _buckets(everything: list[SampleRollup]) -> list[datetime]:
    """Bucket starts shared by every server's charts, so their x axes line up."""
    starts = sorted({r.at for r in everything})
    size = max(1, -(-len(starts) // CHART_POINTS))
    return starts[::size]


def _bucketed(rollups: list[SampleRollup], starts: list[datetime]) -> list[list[SampleRollup]]:
    out: list[list[SampleRollup]] = [[] for _ in starts]
    for rollup in rollups:
        index = bisect.bisect_right(starts, rollup.at) - 1
        if index >= 0:
            out[index].append(rollup)
    return out


def _xychart(title: str, labels: str, axis: str, series: list[list[float]]) -> list[str]:
    top = max([v for line in series for v in line] + [1.0])
    return ["```mermaid", "xychart-beta", f'    title "{title}"', f"    x-axis [{labels}]",
            f'    y-axis "{axis}" 0 --> {int(top * 1.1) + 1}',
            *(f"    line [{', '.join(f'{v:g}' for v in line)}]" for line in series), "```"]


def _server_charts(
    name: str, rollups: list[SampleRollup], starts: list[datetime], end: datetime,
    marks: dict[str, datetime] | None = None,
) -> list[str]:
    buckets = _bucketed(rollups, starts)
    labels = _labels(starts, end, marks or {})
    title = _mermaid_name(name)
    conns = _series(rollups, lambda s: s.conn_max, buckets)
    usable = _series(rollups, lambda s: s.usable_slots, buckets)
    lines = ["", "Connections (peak per window) against usable slots:", "",
             *_xychart(f"{title}: connections against usable slots", labels, "connections",
                       [conns, usable])]
    p95 = _series(rollups, lambda s: s.query_p95_ms, buckets)
    if any(p95):
        lines += ["", "Query round trip p95 (ms):", "",
                  *_xychart(f"{title}: query round trip p95 (ms)", labels, "ms", [p95])]
    # Lag is charted where it is the server's own (replica windows): a primary's is its
    # standbys', charted under them already. A line flat at 0 MB says nothing, so none.
    lag = _series(rollups, lambda s: s.lag_bytes / 2**20
                  if s.lag_bytes is not None and s.role == "replica" else None, buckets)
    if any(lag):
        lines += ["", "Replication lag (MB, worst per window):", "",
                  *_xychart(f"{title}: replication lag (MB)", labels, "MB", [lag])]
    return lines
