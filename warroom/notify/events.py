"""warroom's event schema (``schema: warroom.notify/1``): one JSON object per event.

Every event has ``id`` (unique; a receiver may drop one it has seen), ``type``, ``at`` (ISO 8601
UTC), ``text`` (one line for people) and ``incident`` (``id``, ``title``, ``severity``,
``status``, ``session``; null for ``test``). By type: ``alert.*`` and ``finding.raised`` add
``severity`` and ``rule``; ``note`` adds ``kind`` and ``author``; ``incident.status`` adds
``status``; ``incident.severity`` adds ``severity``; ``incident.resolved`` adds ``draft`` (the
postmortem draft's path, or null). Built from the record's types but importing none of them, so
``warroom note`` pays nothing for the collectors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from warroom.sessions.ids import new_uuid7

SCHEMA = "warroom.notify/1"
Event = dict[str, Any]


class _Incident(Protocol):
    id: str
    title: str
    severity: str

    @property
    def status(self) -> Any: ...


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def about(incident: _Incident, session: Path | str | None) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": str(getattr(incident.status, "value", incident.status)),
        "session": None if session is None else str(session),
    }


def event(
    type_: str, at: datetime, text: str, incident: dict[str, Any] | None, **more: Any
) -> Event:
    return {"id": new_uuid7(), "type": type_, "at": stamp(at), "text": text, "incident": incident,
            **more}  # fmt: skip


def alert(incident: dict[str, Any] | None, ev: Any) -> Event:
    """From a collectors AlertEvent: raised (or lowered) and cleared, with the level."""
    kind = "alert.cleared" if str(getattr(ev.state, "value", ev.state)) == "cleared" else (
        "alert.raised")  # fmt: skip
    return event(kind, ev.at, ev.message, incident, severity=str(ev.level.value), rule=ev.rule)


def finding(incident: dict[str, Any] | None, ev: Any) -> Event:
    """From a FindingEvent that raised a finding."""
    found = ev.finding
    return event("finding.raised", ev.at, found.text, incident,
                 severity=str(found.severity.value), rule=found.rule)  # fmt: skip


def note(incident: dict[str, Any] | None, at: datetime, kind: str, text: str, author: str) -> Event:
    return event("note", at, text, incident, kind=kind, author=author)


def opened(incident: dict[str, Any], at: datetime) -> Event:
    return event("incident.opened", at, f"incident opened: {incident['title']}", incident)


def status(incident: dict[str, Any], at: datetime, value: str, author: str) -> Event:
    return event("incident.status", at, f"status {value} ({author})", incident, status=value)


def severity(incident: dict[str, Any], at: datetime, value: str, author: str) -> Event:
    return event("incident.severity", at, f"severity {value} ({author})", incident,
                 severity=value)  # fmt: skip


def resolved(incident: dict[str, Any], at: datetime, draft: Path | None) -> Event:
    text = f"resolved: {incident['title']}"
    where = None if draft is None else str(draft)
    return event("incident.resolved", at, text, incident, draft=where)


def sample() -> Event:
    """What `warroom notify test` sends."""
    return event("test", datetime.now(UTC), "warroom notify test: this destination works", None)
