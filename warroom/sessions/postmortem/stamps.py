"""Times in the draft: UTC stamps, spans, the reader's local equivalents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warroom.formats import format_duration, format_utc
from warroom.sessions.model import Incident
from warroom.sessions.times import TimeError


def _zone(tz_name: str) -> tzinfo | None:
    """The reader's zone for local equivalents; None for UTC, where there is nothing to add."""
    if tz_name.upper() in ("UTC", "Z", "ETC/UTC"):
        return None
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = "use an IANA name like Europe/Paris"
        raise TimeError(f"unknown time zone {tz_name!r} ({hint})") from None


def _stamp(value: datetime) -> str:
    """UTC stamp; seconds only when they are not zero, so durations add up on the page."""
    return format_utc(value, seconds=bool(value.second or value.microsecond))


def _at(value: datetime, zone: tzinfo | None, note: str) -> str:
    """A UTC stamp with a bracketed note and, when asked for, the reader's local time."""
    notes = [note] if note else []
    if zone is not None:
        local = value.astimezone(zone)
        notes.append(f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip() + " local")
    return _stamp(value) + (f" ({'; '.join(notes)})" if notes else "")


def _span(start: datetime, end: datetime) -> str:
    """``2026-11-24 10:05:00 to 10:07:30 UTC``, with the end date only when it differs."""
    tail = f"{end:%H:%M:%S}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M:%S}"
    return f"{start:%Y-%m-%d %H:%M:%S} to {tail} UTC"


def _since_start(incident: Incident, value: datetime | None) -> str:
    return format_duration(value - incident.started_at) if value is not None else ""


# Charts of less than this label their points to the second.
SHORT_SPAN = timedelta(minutes=10)


def axis_labels(times: Sequence[datetime]) -> list[str]:
    """Chart x-axis labels for ``times`` (UTC, in order) that tell every point apart.

    ``HH:MM`` when the minutes differ; ``HH:MM:SS`` when two points share a minute (a short
    incident would otherwise read ``18:32`` five times) or the whole span is under
    SHORT_SPAN (a tick half-way through three minutes is not "09:01"); and the date
    (``MM-DD``) on the first label and wherever the day changes, so a chart across midnight
    never reads as going back. Shared by the draft's Mermaid charts and the page's SVG charts.
    """
    clock = "%H:%M"
    minutes = [at.replace(second=0, microsecond=0) for at in times]
    if len(set(minutes)) < len(minutes) or (times and times[-1] - times[0] < SHORT_SPAN):
        clock = "%H:%M:%S"
    dated = len({at.date() for at in times}) > 1
    labels: list[str] = []
    shown_day = None
    for at in times:
        text = at.strftime(clock)
        if dated and at.date() != shown_day:
            text = f"{at:%m-%d} {text}"
        shown_day = at.date()
        labels.append(text)
    return labels
