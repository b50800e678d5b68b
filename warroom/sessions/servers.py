"""Several watched servers in one record (issue 12): what the draft and the web page both say.

The record keeps one rollup per server per window; these helpers read it one server at a
time and put the replication figures into words, so the draft and the page agree on a name,
a role history and a lag. Pure, like the rest of ``sessions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from warroom.sessions.model import Incident, SampleRollup, rollups_by_server
from warroom.sessions.times import format_duration

# Rollups that name no server, in a session that also has named ones (a single-server session
# resumed with several --dsn): shown under this label rather than a blank name.
UNNAMED = "(unnamed)"
ARROW = " → "
_UNITS = ("bytes", "kB", "MB", "GB", "TB")


def label(name: str | None) -> str:
    return UNNAMED if name is None else name


def by_server(incident: Incident) -> dict[str | None, list[SampleRollup]]:
    """``rollups_by_server`` of the record, watch order first."""
    return rollups_by_server(incident.samples, (s.name for s in incident.target.servers))


def several(split: dict[str | None, list[SampleRollup]]) -> bool:
    """True when the record's rollups name more than one server (None counts as one)."""
    return len(split) > 1


def roles_seen(rollups: Sequence[SampleRollup]) -> list[tuple[str, datetime]]:
    """(role, first window in it) each time the role changes; windows without one are skipped.

    A promotion reads ``[("replica", t0), ("primary", t1)]``.
    """
    out: list[tuple[str, datetime]] = []
    for rollup in rollups:
        if rollup.role and (not out or out[-1][0] != rollup.role):
            out.append((rollup.role, rollup.at))
    return out


def roles_text(roles: Sequence[tuple[str, datetime]]) -> str:
    """``replica → primary``; ``—`` when the server never said."""
    return ARROW.join(role for role, _ in roles) or "—"


def format_bytes(value: float) -> str:
    """``48 MB``, ``3.2 MB``, ``512 kB``: 1024-based, as PostgreSQL's pg_size_pretty names them."""
    size = float(value)
    unit = 0
    while abs(size) >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    if unit == 0:
        return f"{int(size)} bytes"
    text = f"{size:.1f}" if abs(size) < 10 else f"{size:.0f}"
    return f"{text.removesuffix('.0')} {_UNITS[unit]}"


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


def worst_lag(
    rollups: Sequence[SampleRollup],
) -> tuple[SampleRollup | None, SampleRollup | None]:
    """The windows of the worst lag in bytes and in seconds (None where never recorded)."""
    in_bytes = max((r for r in rollups if r.lag_bytes is not None),
                   key=lambda r: r.lag_bytes or 0, default=None)  # fmt: skip
    in_seconds = max((r for r in rollups if r.lag_s is not None),
                     key=lambda r: r.lag_s or 0.0, default=None)  # fmt: skip
    return in_bytes, in_seconds


__all__ = [
    "ARROW", "UNNAMED", "by_server", "format_bytes", "format_seconds", "label", "lag_text",
    "roles_seen", "roles_text", "several", "worst_lag",
]  # fmt: skip
