"""The lead-up (issue 23): when connections began to climb before detection, and the server
changes on the way, read from the rollups and ``change`` entries the record holds.

Rollups marked ``source = "recorder"`` came from this host's flight recorder (issue 21): the
time before anyone opened the incident, which is often where the climb began; the lead-up says
how much of it the record holds. The climb is found by connections against the record's own
baseline: the median of the earliest third of the windows before detection. The climb began
in the window after the last one at that level (within a margin of a tenth of the usable
slots, at least 2 connections). A record that starts already high says so rather than guessing
when it began.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from warroom.formats import format_duration
from warroom.sessions import servers
from warroom.sessions.model import Incident, Kind, SampleRollup, TimelineEntry
from warroom.sessions.postmortem.markdown import _item, one_line
from warroom.sessions.postmortem.stamps import _stamp

# Server changes this long before the climb (or the record's first window) still count: a
# reload at 09:40 can be why connections climb at 10:05.
CHANGE_LOOKBACK = timedelta(hours=1)


def _relative(at: datetime, to: datetime, what: str) -> str:
    if at == to:
        return f"at {what}"
    side = "before" if at < to else "after"
    return f"{format_duration(abs(to - at))} {side} {what}"


def _of_usable(count: float, rollup: SampleRollup) -> str:
    usable = rollup.usable_slots
    return f"{count:g}" + (f" ({count * 100 // usable:g}% of {usable} usable slots)"
                           if usable else "")


def climb(
    rollups: list[SampleRollup], until: datetime, what: str = "detection"
) -> tuple[str, datetime | None]:
    """One sentence on the climb in connections before ``until`` (``what`` names it), and
    when it began."""
    before = [r for r in rollups if r.at < until and r.conn_max is not None]
    if len(before) < 2:
        return (f"The record holds too few sample windows before {what} to say when the "
                "climb began.", None)
    first = before[: max(1, len(before) // 3)]
    base = round(median(r.conn_max or 0 for r in first))
    usable = max((r.usable_slots or 0 for r in before), default=0)
    margin = max(2.0, usable / 10)
    last = before[-1]
    level = last.conn_max or 0
    if level <= base + margin:
        return (f"Connections did not climb before {what}: {_of_usable(level, last)} at "
                f"{_stamp(last.at)}, about as from the record's first window.", None)
    calm = [i for i, r in enumerate(before) if (r.conn_max or 0) <= base + margin]
    if not calm:
        return (f"Connections were already high when the record begins at "
                f"{_stamp(before[0].at)} ({_of_usable(before[0].conn_max or 0, before[0])}); "
                "the climb began before it.", None)
    began = before[calm[-1] + 1]
    return (f"Connections were about {_of_usable(base, first[0])} until "
            f"{_stamp(began.at)}; the climb began then and reached "
            f"{_of_usable(level, last)} by {_stamp(last.end)}.", began.at)


def _recorded(rollups: list[SampleRollup]) -> str:
    """What the flight recorder added before the dashboard watched (rollups it marked)."""
    kept = [r for r in rollups if r.source == "recorder"]
    if not kept:
        return ""
    return (f" The flight recorder's {len(kept):,} window{'s' if len(kept) != 1 else ''} "
            f"from {_stamp(kept[0].at)} to {_stamp(kept[-1].end)} show the time before the "
            "dashboard watched.")


def _changes(entries: list[TimelineEntry], since: datetime, until: datetime) -> list[str]:
    found = sorted((e for e in entries if e.kind is Kind.CHANGE and since <= e.at <= until),
                   key=lambda e: e.at)
    if not found:
        return ["", "No server change (restart, reload, promotion) was recorded in the lead-up."]
    lines = ["", "Server changes in the lead-up:", ""]
    for entry in found:
        lines += _item(f"**{_stamp(entry.at)}** — ", entry.text)
    return lines


def lead_up(incident: Incident, split: dict[str | None, list[SampleRollup]]) -> list[str]:
    """``**Lead-up.**`` and what the record shows before detection (``split``: the rollups
    by server, servers.by_server's)."""
    until = incident.detected_at or incident.started_at
    what = "detection" if incident.detected_at is not None else "impact start"
    if not any(split.values()):
        return ["", "**Lead-up.** No sample windows were recorded, so the climb cannot be "
                "dated: TODO: say when it began, from your monitoring."]
    lines = ["", f"**Lead-up** (before {what}, {_stamp(until)}):", ""]
    starts: list[datetime] = []
    several = servers.several(split)
    for name, rollups in split.items():
        text, began = climb(rollups, until, what)
        if began is not None:
            starts.append(began)
            text += (f" That is {_relative(began, until, what)} and "
                     f"{_relative(began, incident.started_at, 'the recorded impact start')}.")
        text += _recorded(rollups)
        head = f"{one_line(servers.label(name))}: " if several else ""
        lines.append(f"- {head}{text}")
    earliest = min((r.at for rollups in split.values() for r in rollups), default=until)
    since = min([earliest, *starts]) - CHANGE_LOOKBACK
    return lines + _changes(incident.timeline, since, until)
