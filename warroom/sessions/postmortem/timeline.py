"""## Timeline: every entry in time order."""

from __future__ import annotations

from datetime import date, datetime

from warroom.sessions.model import Kind, Source, TimelineEntry
from warroom.sessions.postmortem.markdown import _item, one_line

# The marker a responder (and the golden test) looks for on entries that led the wrong way.
MISLEADING = "**misleading path**"


def _timeline(entries: list[TimelineEntry]) -> list[str]:
    if not entries:
        return ["TODO: no timeline entries were recorded; rebuild the timeline from chat logs "
                "and alerts (`warroom note --at TIME --kind KIND TEXT`)."]
    lines = ["All times are UTC."]
    lines.append("")
    shown: date | None = None
    # Seconds only where they tell entries of one minute apart.
    minutes = [e.at.replace(second=0, microsecond=0) for e in entries]
    seconds_in: dict[datetime, set[int]] = {}
    for minute, e in zip(minutes, entries, strict=True):
        seconds_in.setdefault(minute, set()).add(e.at.second)
    # A few people write most entries: each author is escaped once, not once per entry.
    authors: dict[tuple[str, Source], str] = {}
    for minute, entry in zip(minutes, entries, strict=True):
        day = entry.at.date()
        crowded = len(seconds_in[minute]) > 1
        clock = f"{entry.at:%H:%M:%S}" if crowded else f"{entry.at:%H:%M}"
        when = clock if day == shown else f"{entry.at:%Y-%m-%d} {clock}"
        shown = day
        parts = [f"**{when}**", MISLEADING if entry.kind is Kind.MISLEADING else entry.kind.value]
        key = (entry.author, entry.source)
        who = authors.get(key)
        if who is None:
            who = authors[key] = (one_line(entry.author)
                                  or ("warroom" if entry.source is Source.AUTO else ""))
        if who:
            parts.append(who)
        lines += _item(" · ".join(parts) + " — ", entry.text)
    return lines
