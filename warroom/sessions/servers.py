"""Several watched servers in one record (issue 12): what the draft and the web page both say.

The record keeps one rollup per server per window; these helpers read it one server at a
time, so the draft and the page agree on a name, a role history and a lag (put into words by
warroom.formats). Pure, like the rest of ``sessions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from warroom.sessions.model import Incident, SampleRollup, rollups_by_server

# Rollups that name no server, in a session that also has named ones (a single-server session
# resumed with several --dsn): shown under this label rather than a blank name.
UNNAMED = "(unnamed)"
ARROW = " → "


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
    "ARROW", "UNNAMED", "by_server", "label", "roles_seen", "roles_text", "several", "worst_lag",
]  # fmt: skip
