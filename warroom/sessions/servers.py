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
    """``rollups_by_server`` of the record, watch order first, N servers always.

    A one-server session stores its rollups without a name; here, and only here, they get the
    session's server's name (``session_server``), so every reader sees named servers. None is
    left only for unnamed rollups of a session that lists its servers (a one-server session
    resumed with several): the record does not say which server those were.
    """
    split = rollups_by_server(incident.samples, (s.name for s in incident.target.servers))
    name = session_server(incident)
    if name is None or None not in split:
        return split
    return {name if key is None else key: rollups for key, rollups in split.items()}


def session_server(incident: Incident) -> str | None:
    """The name of a one-server session's server, as the dashboard names it (``host:port``
    from its DSN); None when the session lists its servers or has no DSN."""
    if incident.target.servers or not incident.target.dsn:
        return None
    # Imported here: reading a DSN is libpq's job, and sessions import psycopg only when used.
    from warroom.collectors.dsn import server_name

    return server_name(incident.target.dsn)


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
    "ARROW", "UNNAMED", "by_server", "label", "roles_seen", "roles_text", "session_server",
    "several", "worst_lag",
]  # fmt: skip
