"""## Detection: the key times from impact start and how the incident was noticed."""

from __future__ import annotations

from datetime import datetime

from warroom.sessions.model import Incident, Kind, TimelineEntry
from warroom.sessions.postmortem.markdown import _paragraph
from warroom.sessions.postmortem.stamps import _since_start, _stamp
from warroom.sessions.postmortem.summary import _RESOLVE_HINT


def _key_time(incident: Incident, label: str, done: str, field: str, todo: str) -> str:
    value: datetime | None = getattr(incident, field)
    if value is None:
        return f"- **Time to {label}:** not recorded. TODO: {todo}"
    return f"- **Time to {label}:** {_since_start(incident, value)} ({done} {_stamp(value)})"


def _detection(incident: Incident, entries: list[TimelineEntry]) -> list[str]:
    lines = [
        f"Measured from impact start, {_stamp(incident.started_at)}.",
        "",
        _key_time(incident, "detect", "detected", "detected_at",
                  "when did a person or an alert first notice? (`warroom note --kind detection "
                  "--at TIME ...`)"),
        _key_time(incident, "identify", "identified", "identified_at",
                  "when was the cause known? (`warroom status identified --at TIME`)"),
        _key_time(incident, "mitigate", "mitigated", "mitigated_at",
                  "when did impact stop? (`warroom status monitoring --at TIME`)"),
    ]
    if incident.resolved_at is None:
        lines.append(f"- **Time to resolve:** not yet resolved. TODO: {_RESOLVE_HINT} when over")
    else:
        lines.append(_key_time(incident, "resolve", "resolved", "resolved_at", ""))
    first = next((e for e in entries if e.kind is Kind.DETECTION), None)
    first = first or next((e for e in entries if e.kind is Kind.ALERT), None)
    lines.append("")
    if first is None:
        lines.append("TODO: say how the incident was noticed (alert, customer report, a "
                     "colleague) and whether monitoring should have caught it sooner.")
    else:
        lines += _paragraph(f"How it was noticed ({_stamp(first.at)}, {first.kind.value}): ",
                            first.text)
    return lines
