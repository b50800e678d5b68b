"""Every figure put into words, in one place: ages, durations, sizes, lag, milliseconds, times.

The dashboard, the draft, the web page, the share indicator and the finding texts all say
"2m05s" or "48 MB" through these functions, so one screen never shows one figure two ways.
Where an output must keep a style of its own (the draft's "1,234 ms", an eight-cell column),
the style is a named argument here, not a second helper elsewhere. Plain Python, no I/O:
collectors, sessions, widgets and web all import it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

_UNITS = ("bytes", "kB", "MB", "GB", "TB")


def age(seconds: float | None, missing: str = "") -> str:
    """``45s``, ``2m05s``, ``1h05m``: how long something has lasted, whole seconds (truncated)."""
    if seconds is None:
        return missing
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def short_age(seconds: float, narrow: bool = False) -> str:
    """``45s``, ``2m``, ``1h05m``: an age to the minute; ``narrow`` says ``1h05`` (8 cells)."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h{s % 3600 // 60:02d}" + ("" if narrow else "m")


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
    # Imported here: sessions.times imports this module for its own error messages.
    from warroom.sessions.times import as_utc

    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return as_utc(value).strftime(fmt) + " UTC"


def format_bytes(value: float | None, missing: str = "—") -> str:
    """``48 MB``, ``3.2 MB``, ``512 kB``: 1024-based, as PostgreSQL's pg_size_pretty names them.

    The one size style of the dashboard, the draft and the page; ``missing`` when unknown.
    """
    if value is None:
        return missing
    size = float(value)
    unit = 0
    while abs(size) >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    if unit == 0:
        return f"{int(size)} bytes"
    text = f"{size:.1f}" if abs(size) < 10 else f"{size:.0f}"
    return f"{text.removesuffix('.0')} {_UNITS[unit]}"


def text_size(chars: int) -> str:
    """``1.3 MB``, ``70 kB``, ``900 chars``: how long a text is (decimal, it counts characters)."""
    if chars >= 1_000_000:
        return f"{chars / 1_000_000:.1f} MB"
    if chars >= 10_000:
        return f"{chars // 1000} kB"
    return f"{chars:,} chars"


def format_seconds(value: float) -> str:
    """``0.4 s``, ``48 s``, ``12m 30s``: a lag in time."""
    if value < 10:
        return f"{value:.1f}".removesuffix(".0") + " s"
    if value < 60:
        return f"{value:.0f} s"
    return format_duration(timedelta(seconds=round(value)))


def lag_text(lag_bytes: int | None, lag_s: float | None) -> str:
    """``48 MB, 90 s`` from whichever of the two was recorded; ``""`` when neither was."""
    parts = []
    if lag_bytes is not None:
        parts.append(format_bytes(lag_bytes))
    if lag_s is not None:
        parts.append(format_seconds(lag_s))
    return ", ".join(parts)


MsStyle = Literal["screen", "draft"]


def ms(value: float | None, style: MsStyle = "screen") -> str:
    """A latency. ``screen``: ``0.4ms``, ``412ms``, ``1.2s`` (narrow panes); ``draft``:
    ``9.5 ms``, ``1,234 ms`` (prose, never switching unit within a report)."""
    if value is None:
        return "—"
    if style == "draft":
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if value >= 1000:
        return f"{value / 1000:.1f}s"
    if value >= 100:
        return f"{value:.0f}ms"
    return f"{value:.1f}ms"


__all__ = [
    "age", "format_bytes", "format_duration", "format_offset", "format_seconds", "format_utc",
    "lag_text", "ms", "short_age", "text_size",
]  # fmt: skip
