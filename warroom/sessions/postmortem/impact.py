"""## Impact's numbers, measured from the rollups over the incident (issue 23).

Every figure is taken over the impact window (impact start to resolution, else mitigation,
else the last window recorded) and, where it is a share, against the slots applications may
use. Saturation is counted by window: a 10 s window counts when its peak reached the share,
which is what the saturation alert saw. The thresholds are the saturation alert's: the ones
configured where the draft is written (``[alerts.saturation]``, passed in as ``levels``), else
its defaults (collectors/alerts_config.py), so the draft and the alerts agree on "saturated".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.formats import format_duration, ms
from warroom.rollup import Group
from warroom.sessions import servers
from warroom.sessions.model import Incident, SampleRollup
from warroom.sessions.postmortem.figures import down_windows
from warroom.sessions.postmortem.markdown import _cell, one_line

Split = dict[str | None, list[SampleRollup]]

# Holders named in Impact; the rest are counted, not listed.
MAX_HOLDERS = 5


Levels = Sequence[tuple[str, float]]  # (alert level, percent of usable slots), lowest first


def saturation_thresholds() -> list[tuple[str, float]]:
    """(level, percent of usable slots) of the saturation alert's defaults, lowest first."""
    # Imported here: the collectors (and their findings) load only when a draft is written.
    from warroom.collectors.alerts_config import AlertConfig

    return AlertConfig().saturation_levels()


def in_window(incident: Incident, rollups: list[SampleRollup]) -> list[SampleRollup]:
    """The rollups whose window overlaps impact start to its end (all after start if ongoing)."""
    start, end = incident.started_at, incident.end
    # ``end`` (a timedelta sum) only for the few windows that begin before impact start.
    return [r for r in rollups
            if (end is None or r.at < end) and (r.at >= start or r.end > start)]


def _share(rollup: SampleRollup) -> float | None:
    usable = rollup.usable_slots
    if rollup.conn_max is None or not usable:
        return None
    return rollup.conn_max * 100 / usable


def _total(windows: list[tuple[datetime, datetime]]) -> timedelta:
    return sum((end - start for start, end in windows), timedelta())


def _p95(values: list[float]) -> float | None:
    """Nearest-rank 95th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


@dataclass(frozen=True, slots=True)
class Holder:
    name: str
    peak: int
    usable: int | None


def holders(rollups: list[SampleRollup]) -> list[Holder]:
    """Applications and users that held slots, by the most each held in one window."""
    best: dict[tuple[str, str], tuple[int, int | None]] = {}
    for rollup in rollups:
        # Windows recorded with users but no groups (an older writer) name the users alone.
        pairs = ([(g.application, g.user, g.count) for g in rollup.top_groups]
                 or [("", user, count) for user, count in rollup.top_users])
        for application, user, count in pairs:
            key = (application, user)
            if count > best.get(key, (-1, None))[0]:
                best[key] = (count, rollup.usable_slots)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return [Holder(f"{app} (user {user})" if app and user else Group(app, user, 0).name,
                   count, usable) for (app, user), (count, usable) in ranked]


@dataclass(frozen=True, slots=True)
class ServerImpact:
    """One server's numbers over the impact window."""

    windows: int
    above: list[tuple[str, float, timedelta, int]]  # level, percent, time, stretches
    down: timedelta
    down_stretches: int
    probe_refused: int
    log_refused: int | None  # None: the server's log was not read
    peak_ms: float | None
    p95_ms: float | None
    usable: int | None
    holders: list[Holder]


def _time_above(
    rollups: list[SampleRollup], percents: list[float]
) -> list[tuple[timedelta, int]]:
    """For each share, the time in windows whose peak reached it and in how many stretches,
    merged as ``down_windows`` merges. One pass in epoch seconds: a draft of 8 h has
    thousands of windows, and datetime arithmetic per window would cost the draft its speed."""
    spent = [0.0] * len(percents)
    stretches = [0] * len(percents)
    open_end: list[float | None] = [None] * len(percents)
    low = min(percents, default=0.0)
    for rollup in rollups:
        share = _share(rollup)
        if share is None or share < low:
            open_end = [None] * len(percents)
            continue
        start = rollup.at.timestamp()
        length = max(rollup.seconds, 0.0)
        slack = max(rollup.seconds, 1.0) / 2
        for i, percent in enumerate(percents):
            if share < percent:
                open_end[i] = None
                continue
            end = open_end[i]
            if end is None or start > end + slack:
                stretches[i] += 1
            spent[i] += length
            open_end[i] = start + length
    return [(timedelta(seconds=t), n) for t, n in zip(spent, stretches, strict=True)]


def measure(rollups: list[SampleRollup], levels: Levels | None = None) -> ServerImpact:
    """One server's numbers from its rollups over the impact (time order)."""
    levels = saturation_thresholds() if levels is None else levels
    above = [(level, percent, spent, count) for (level, percent), (spent, count)
             in zip(levels, _time_above(rollups, [p for _, p in levels]), strict=True)]
    down = down_windows(rollups)
    logs = [r.log_refused for r in rollups if r.log_refused is not None]
    worst = [v for r in rollups for v in (r.query_max_ms, r.query_p95_ms) if v is not None]
    usable = [r.usable_slots for r in rollups if r.usable_slots]
    return ServerImpact(
        windows=len(rollups), above=above, down=_total(down), down_stretches=len(down),
        probe_refused=sum(r.refused for r in rollups),
        log_refused=sum(logs) if logs else None,
        peak_ms=max(worst) if worst else None,
        p95_ms=_p95([r.query_p95_ms for r in rollups if r.query_p95_ms is not None]),
        usable=max(usable) if usable else None,
        holders=holders(rollups),
    )


def _held(holder: Holder) -> str:
    of = f" of {holder.usable} usable" if holder.usable else ""
    return f"{one_line(holder.name)} (up to {holder.peak}{of})"


def _single(found: ServerImpact) -> list[str]:
    lines = []
    for level, percent, spent, stretches in found.above:
        text = format_duration(spent) if spent else "never"
        if stretches > 1:
            text += f" in {stretches} stretches"
        lines.append(f"- **At or above {percent:g}% of usable slots ({level}):** {text}")
    down = format_duration(found.down) if found.down else "never"
    if found.down_stretches > 1:
        down += f" in {found.down_stretches} stretches"
    lines.append(f"- **DOWN:** {down}")
    server = ("not read (no server log in the record)" if found.log_refused is None
              else f"{found.log_refused:,} connections (counted in its log)")
    lines.append(f"- **Refused:** warroom's own connection in {found.probe_refused:,} "
                 f"sample{'s' if found.probe_refused != 1 else ''}; by the server {server}")
    if found.holders:
        named = ", ".join(_held(h) for h in found.holders[:MAX_HOLDERS])
        more = len(found.holders) - MAX_HOLDERS
        lines.append(f"- **Applications and users holding slots:** {named}"
                     + (f" and {more} more" if more > 0 else ""))
    else:
        lines.append("- **Applications and users holding slots:** not recorded")
    peak = ms(found.peak_ms, "draft") if found.peak_ms is not None else "not measured"
    p95 = ms(found.p95_ms, "draft") if found.p95_ms is not None else "not measured"
    lines.append(f"- **Query latency:** peak {peak}; p95 {p95} (the 95th percentile of the "
                 "windows' p95)")
    return lines


def _table(split: dict[str | None, ServerImpact]) -> list[str]:
    levels = next(iter(split.values())).above
    head = [f"≥ {percent:g}% ({level})" for level, percent, _, _ in levels]
    lines = ["| Server | Usable slots | " + " | ".join(head) + " | DOWN | Probe refused | "
             "Server refused | Peak latency | p95 latency |",
             "| --- " * (7 + len(head)) + "|"]
    for name, found in split.items():
        spent = [format_duration(t) if t else "never" for _, _, t, _ in found.above]
        lines.append(
            f"| {_cell(servers.label(name))} | {found.usable or '—'} | " + " | ".join(spent)
            + f" | {format_duration(found.down) if found.down else 'never'} | "
            f"{found.probe_refused:,} | "
            f"{'not read' if found.log_refused is None else f'{found.log_refused:,}'} | "
            f"{ms(found.peak_ms, 'draft') if found.peak_ms is not None else '—'} | "
            f"{ms(found.p95_ms, 'draft') if found.p95_ms is not None else '—'} |")
    for name, found in split.items():
        if found.holders:
            named = ", ".join(_held(h) for h in found.holders[:MAX_HOLDERS])
            lines += ["", f"Holding slots on {one_line(servers.label(name))}: {named}."]
    return lines


def impact_numbers(
    incident: Incident, by_server: Split, levels: Levels | None = None
) -> list[str]:
    """The measured part of ## Impact (``by_server``: servers.by_server's split); a line
    saying why when there is nothing to measure."""
    split = {name: in_window(incident, rollups) for name, rollups in by_server.items()}
    split = {name: rollups for name, rollups in split.items() if rollups}
    if not split:
        return ["", "No sample windows were recorded during the impact, so warroom has no "
                "numbers for it: TODO: add saturation, downtime, refusals and latency from your "
                "monitoring."]
    measured = {name: measure(rollups, levels) for name, rollups in split.items()}
    count = sum(found.windows for found in measured.values())
    intro = (f"Measured by warroom over the impact from {count:,} sample "
             f"window{'s' if count != 1 else ''}"
             + (f" of {len(measured)} servers" if len(measured) > 1 else "")
             + "; saturation is the share of usable slots at each window's peak:")
    if len(measured) > 1:
        return ["", intro, "", *_table(measured)]
    return ["", intro, "", *_single(next(iter(measured.values())))]
