"""Time parsing and formatting shared by the CLI, the TUI and the draft.

Everything stored is an aware datetime in UTC. Users type either ISO 8601 with a zone, or a bare
``HH:MM[:SS]`` meaning UTC today (the CLI contract in DESIGN.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")


class TimeError(ValueError):
    """A time the user typed that we cannot read; the message is fit for one error line."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is refused rather than guessed at."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimeError(f"time {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def parse_clock(text: str, today: datetime) -> datetime | None:
    """``HH:MM`` or ``HH:MM:SS`` on the UTC date of ``today``; None when ``text`` is not a clock."""
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match["h"]), int(match["m"])
    second = int(match["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeError(f"no such time of day: {text.strip()!r}")
    day = as_utc(today)
    return day.replace(hour=hour, minute=minute, second=second, microsecond=0)


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """Read a user's TIME: ISO 8601 with a zone, or ``HH:MM[:SS]`` meaning UTC today."""
    now = now or utcnow()
    clock = parse_clock(text, now)
    if clock is not None:
        return clock
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        raise TimeError(
            f"cannot read time {text!r}: use ISO 8601 with a zone "
            "(2026-11-24T09:00:00Z) or HH:MM[:SS] for UTC today"
        ) from None
    if value.tzinfo is None:
        raise TimeError(
            f"time {text!r} has no zone: add Z or +HH:MM, or give HH:MM for UTC today"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-14:00 is past the last datetime Python has
        raise TimeError(f"time {text!r} is out of range") from None


# How far ahead of this host's clock a typed time may be: another responder's clock, or a
# note typed a minute before the moment it names. Further ahead is a typo (a wrong day, zone or
# year), and a record cannot take back a resolution dated in 9999.
FUTURE_SLACK = timedelta(minutes=5)


def parse_past_time(text: str, now: datetime | None = None) -> datetime:
    """A TIME that says when something happened: ``parse_time``, and not in the future."""
    now = now or utcnow()
    value = parse_time(text, now)
    if value > now + FUTURE_SLACK:
        raise TimeError(
            f"time {text.strip()!r} is in the future ({format_utc(value)}; it is "
            f"{format_utc(now)} now): give the time it happened"
        )
    return value


def format_duration(delta: timedelta) -> str:
    """Short human duration: ``2h 30m``, ``45m 10s``, ``8s``; negative durations keep their sign."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts: list[str] = []
    if days:
        parts.append(f"{days}d")
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds and not days and not hours:
        parts.append(f"{seconds}s")
    return sign + (" ".join(parts) if parts else "0s")


def format_offset(delta: timedelta) -> str:
    """Incident clock offset: ``T+01:05:09`` (``T-00:10:00`` before impact start)."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"T{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"


def format_utc(value: datetime, seconds: bool = True) -> str:
    """``2026-11-24 09:00:00 UTC``-style stamp used in the draft and the CLI."""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return as_utc(value).strftime(fmt) + " UTC"
