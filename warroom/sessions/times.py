"""Time parsing shared by the CLI, the TUI and the draft (formatting: warroom.formats).

Everything stored is an aware datetime in UTC. Users type either ISO 8601 with a zone, or a bare
``HH:MM[:SS]`` meaning UTC today (the CLI contract in DESIGN.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# The formatters live in warroom.formats; these names stay importable from here for the modules
# that have always taken them from sessions.times (the CLI, the model, the dashboard).
from warroom.formats import format_duration, format_offset, format_utc

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


__all__ = [
    "FUTURE_SLACK", "TimeError", "as_utc", "format_duration", "format_offset", "format_utc",
    "parse_clock", "parse_past_time", "parse_time", "utcnow",
]  # fmt: skip
