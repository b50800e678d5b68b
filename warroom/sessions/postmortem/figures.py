"""One server's figures from its rollups: peaks, refusals, down windows and other stretches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from warroom.formats import format_duration, format_utc, ms
from warroom.sessions.model import SampleRollup
from warroom.sessions.postmortem.stamps import _span

# Down windows listed one by one; beyond this the list would bury the rest of the section.
MAX_DOWN_WINDOWS = 20


def _peak(
    samples: Iterable[SampleRollup], value: Callable[[SampleRollup], float | None]
) -> tuple[float, SampleRollup] | None:
    best: tuple[float, SampleRollup] | None = None
    for sample in samples:
        found = value(sample)
        if found is not None and (best is None or found > best[0]):
            best = (found, sample)
    return best


def _worst_query(sample: SampleRollup) -> float | None:
    found = [v for v in (sample.query_max_ms, sample.query_p95_ms) if v is not None]
    return max(found) if found else None


def down_windows(samples: list[SampleRollup]) -> list[tuple[datetime, datetime]]:
    """Consecutive ``down`` rollups merged into (start, end) ranges.

    ``at`` is the window start. Two down rollups merge only when nothing else lies between them
    and no time is missing: a gap in sampling is not claimed as downtime.
    """
    return _runs(samples, lambda s: s.status == "down")


def _runs(
    samples: list[SampleRollup], inside: Callable[[SampleRollup], bool]
) -> list[tuple[datetime, datetime]]:
    """Consecutive rollups for which ``inside`` holds, merged as ``down_windows`` merges."""
    windows: list[tuple[datetime, datetime]] = []
    open_end: datetime | None = None
    for sample in sorted(samples, key=lambda s: s.at):
        if not inside(sample):
            open_end = None
            continue
        start = sample.at
        end = start + timedelta(seconds=max(sample.seconds, 0.0))
        slack = timedelta(seconds=max(sample.seconds, 1.0) / 2)
        if open_end is not None and start <= open_end + slack:
            open_end = max(open_end, end)
            windows[-1] = (windows[-1][0], open_end)
        else:
            open_end = end
            windows.append((start, end))
    return windows


def _peak_against_usable(samples: list[SampleRollup]) -> str:
    """Peak connections against the slots applications may use (max_connections when older),
    the one peak the dashboard, the page and the draft all show. Rounded down: 199 of 200
    must not read as 100%."""
    peak = _peak(samples, lambda s: s.conn_max)
    if peak is None:
        return "- **Peak connections:** not measured (no window had a connection count)"
    count, at = int(peak[0]), peak[1]
    if at.usable is not None and at.usable > 0:
        limit = f"; max_connections {at.max_connections}" if at.max_connections else ""
        share = f" of {at.usable} usable slots ({count * 100 // at.usable}%{limit})"
    elif at.max_connections:
        share = f" of max_connections {at.max_connections} ({count * 100 // at.max_connections}%)"
    else:
        share = " (max_connections not recorded)"
    return f"- **Peak connections:** {count}{share} at {format_utc(at.at)}"


def _window_figures(
    samples: list[SampleRollup], connections: Callable[[list[SampleRollup]], str],
    p95: bool = False,
) -> list[str]:
    """Peaks, refusals and down windows of one server's rollups (time order); ``p95`` adds
    the worst window's p95 beside the worst round trip."""
    lines = [connections(samples)]
    worst = _peak(samples, _worst_query)
    if worst is None:
        lines.append("- **Peak query latency:** not measured")
    else:
        lines.append(f"- **Peak query latency:** {ms(worst[0], 'draft')} at "
                     f"{format_utc(worst[1].at)}")
    worst_p95 = _peak(samples, lambda s: s.query_p95_ms) if p95 else None
    if worst_p95 is not None:
        lines.append(f"- **Peak query p95:** {ms(worst_p95[0], 'draft')} at "
                     f"{format_utc(worst_p95[1].at)}")
    connect = _peak(samples, lambda s: s.connect_max_ms)
    if connect is not None:
        lines.append(f"- **Slowest new connection:** {ms(connect[0], 'draft')} at "
                     f"{format_utc(connect[1].at)}")

    refusing = [s for s in samples if s.refused]
    if refusing:
        total = sum(s.refused for s in refusing)
        lines.append(f"- **Connect refusals:** {total} in total, first at "
                     f"{format_utc(refusing[0].at)}, last at {format_utc(refusing[-1].at)}")
    else:
        lines.append("- **Connect refusals:** none")

    partial = sum(1 for s in samples if s.status == "partial")
    if partial:
        lines.append(f"- **Windows with some failed samples:** {partial}")

    windows = down_windows(samples)
    if not windows:
        lines.append("- **Down windows:** none: the database answered in every sampled window")
        return lines
    lines += _stretches("Down windows", windows)
    return lines


def _stretches(
    what: str, windows: list[tuple[datetime, datetime]], unit: str | None = None
) -> list[str]:
    """``- **what:** 2, 1m in total`` (with a ``unit``: ``1m in 2 stretches``), then the
    stretches one by one (at most MAX_DOWN_WINDOWS)."""
    total = sum((end - start for start, end in windows), timedelta())
    if unit is None:
        head = f"{len(windows)}, {format_duration(total)} in total"
    else:
        units = unit if len(windows) == 1 else f"{unit}es" if unit.endswith("h") else f"{unit}s"
        head = f"{format_duration(total)} in {len(windows)} {units}"
    lines = [f"- **{what}:** {head}"]
    for start, end in windows[:MAX_DOWN_WINDOWS]:
        lines.append(f"  - {_span(start, end)} ({format_duration(end - start)})")
    if len(windows) > MAX_DOWN_WINDOWS:
        lines.append(f"  - and {len(windows) - MAX_DOWN_WINDOWS} more")
    return lines
