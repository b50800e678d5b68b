"""Events: every change to a shared record, as plain JSON-able data.

An event has a UUIDv7 id (unique everywhere, ordered by time), the incident it belongs to, the
time of the change, the origin host and author, a kind and a small ``data`` object. Events are
produced by diffing the record before and after a write (``diff``) and turned back into model
objects on the other side. Anything read from outside (the ops database, the journal) goes
through ``parse_event``: malformed, oversized or newer-version events raise ``BadEvent`` and are
skipped by the caller with a warning, never applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warroom.sanitize import text_block
from warroom.sessions.ids import UUID_RE, new_uuid7
from warroom.sessions.model import (
    FACTORS,
    KEY_TIMES,
    SEVERITIES,
    TEXT_FIELDS,
    ActionItem,
    Incident,
    Kind,
    Source,
    Status,
    TimelineEntry,
)
from warroom.sessions.times import as_utc, utcnow

VERSION = 1  # of the event format; a newer one is skipped, not guessed at
MAX_EVENT_BYTES = 64 * 1024
MAX_TEXT = 16 * 1024  # per text field, after sanitising
MAX_NAME = 200  # host, author, ids

ENTRY_ADDED = "entry.added"
ENTRY_EDITED = "entry.edited"
ENTRY_DELETED = "entry.deleted"
FIELD_SET = "field.set"
ACTION_ADDED = "action.added"
ACTION_EDITED = "action.edited"
ACTION_DELETED = "action.deleted"
CREATED = "incident.created"
KINDS = frozenset(
    {ENTRY_ADDED, ENTRY_EDITED, ENTRY_DELETED, FIELD_SET, ACTION_ADDED, ACTION_EDITED,
     ACTION_DELETED, CREATED}
)  # fmt: skip

# Header fields that travel. Samples (rollups) and the watched target stay per host: each host
# watches with its own monitor, and two hosts' rollups of one server would only double-count.
ROLE_FIELDS: tuple[str, ...] = ("roles.commander", "roles.scribe", "roles.comms")
TIME_FIELDS: frozenset[str] = frozenset(KEY_TIMES)
# The contributing factors travel as one field (a JSON array): a list edited in the form is set
# whole, as a text field is. A host from before them skips that event with a warning.
FIELDS: tuple[str, ...] = ("title", "severity", "status", *KEY_TIMES, *TEXT_FIELDS, *ROLE_FIELDS,
                           FACTORS)


MAX_FACTORS = 100  # a list nobody would type: an event over it is refused, not stored


class BadEvent(ValueError):
    """An event we will not apply; the message says why, fit for one warning line."""


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    incident: str
    at: datetime
    host: str
    author: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    v: int = VERSION

    @property
    def order(self) -> tuple[datetime, str]:
        """The order every host merges in: time of the change, then id."""
        return (self.at, self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "id": self.id,
            "incident": self.incident,
            "at": self.at.isoformat(),
            "host": self.host,
            "author": self.author,
            "kind": self.kind,
            "data": self.data,
        }


def make(incident: str, kind: str, data: dict[str, Any], host: str, author: str) -> Event:
    return Event(new_uuid7(), incident, utcnow(), host, author, kind, data)


# -- values ---------------------------------------------------------------------------------


def get_field(incident: Incident, name: str) -> Any:
    if name.startswith("roles."):
        return getattr(incident.roles, name.removeprefix("roles."))
    value = getattr(incident, name)
    return value.value if isinstance(value, Status) else value


def set_field(incident: Incident, name: str, value: Any) -> None:
    if name.startswith("roles."):
        setattr(incident.roles, name.removeprefix("roles."), value)
    elif name == "status":
        incident.status = Status(value)
    elif name == FACTORS:
        incident.contributing_factors = tuple(value)
    else:
        setattr(incident, name, value)


def encode_value(name: str, value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value.isoformat() if isinstance(value, datetime) else value


def decode_value(name: str, value: Any) -> Any:
    """A field's value from JSON, checked against what the field can hold."""
    if name in TIME_FIELDS:
        if value is None and name != "started_at":
            return None
        return _time(value, name)
    if name == FACTORS:
        if not isinstance(value, list) or len(value) > MAX_FACTORS:
            raise BadEvent(f"{name}: expected a list of at most {MAX_FACTORS} texts")
        return tuple(_text(item, name) for item in value)
    if not isinstance(value, str):
        raise BadEvent(f"{name}: expected text, got {type(value).__name__}")
    if name == "severity" and value not in SEVERITIES:
        raise BadEvent(f"severity: unknown value {value[:20]!r}")
    if name == "status" and value not in {s.value for s in Status}:
        raise BadEvent(f"status: unknown value {value[:20]!r}")
    return _text(value, name)


def _time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise BadEvent(f"{what}: expected a time")
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise BadEvent(f"{what}: not a time with a zone") from None


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise BadEvent(f"{what}: expected text")
    value = text_block(value)
    if len(value) > limit:
        raise BadEvent(f"{what}: {len(value)} characters, more than {limit}")
    return value


def _name(value: Any, what: str) -> str:
    return _text(value, what, MAX_NAME).replace("\n", " ")


def entry_data(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "kind": entry.kind.value,
        "text": entry.text,
        "author": entry.author,
        "source": entry.source.value,
    }


def entry_from(data: dict[str, Any]) -> TimelineEntry:
    try:
        return TimelineEntry(
            id=_name(data["id"], "entry id"),
            at=_time(data["at"], "entry at"),
            kind=Kind(data["kind"]),
            text=_text(data["text"], "entry text"),
            author=_name(data.get("author", ""), "entry author"),
            source=Source(data.get("source", "manual")),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise BadEvent(f"entry: {exc}") from None


def action_data(item: ActionItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "text": item.text,
        "owner": item.owner,
        "kind": item.kind.value,
        "due": item.due.isoformat() if item.due else None,
        "done": item.done,
        "status": item.status.value,  # hosts before statuses read done alone
    }


def action_from(data: dict[str, Any]) -> ActionItem:
    from datetime import date

    try:
        due = data.get("due")
        return ActionItem(
            id=_name(data["id"], "action id"),
            text=_text(data["text"], "action text"),
            owner=_name(data.get("owner", ""), "action owner"),
            kind=data.get("kind", "prevent"),
            due=date.fromisoformat(due) if due else None,
            # Older hosts send ``done`` alone.
            status=data.get("status") or ("done" if data.get("done") else "open"),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise BadEvent(f"action item: {exc}") from None


def header_data(incident: Incident) -> dict[str, Any]:
    """The shared header, for ``incident.created`` (a joiner starts from it)."""
    out = {name: encode_value(name, get_field(incident, name)) for name in FIELDS}
    out["id"] = incident.id
    return out


def incident_from(data: dict[str, Any]) -> Incident:
    try:
        incident = Incident(
            id=_name(data["id"], "incident id"),
            title=_text(data["title"], "title"),
            started_at=_time(data["started_at"], "started_at"),
        )
        for name in FIELDS:
            if name in data and name not in ("title", "started_at"):
                set_field(incident, name, decode_value(name, data[name]))
        incident.check_key_times()
    except (KeyError, ValueError, TypeError) as exc:
        raise BadEvent(f"incident: {exc}") from None
    return incident


# -- reading events from outside --------------------------------------------------------------


def parse_event(raw: Any, incident: str | None = None) -> Event:
    """An event from JSON (a dict, or its text); raises BadEvent for anything off."""
    if isinstance(raw, str | bytes):
        if len(raw) > MAX_EVENT_BYTES:
            raise BadEvent(f"event of {len(raw)} bytes, more than {MAX_EVENT_BYTES}")
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BadEvent("event is not JSON") from None
    if not isinstance(raw, dict):
        raise BadEvent("event is not an object")
    v = raw.get("v")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise BadEvent("event has no version")
    if v > VERSION:
        raise BadEvent(f"event format {v} is newer than this warroom reads ({VERSION})")
    ident = raw.get("id")
    if not isinstance(ident, str) or not UUID_RE.match(ident):
        raise BadEvent("event id is not a UUIDv7")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise BadEvent(f"event {ident}: unknown kind {str(kind)[:40]!r}")
    data = raw.get("data")
    if not isinstance(data, dict):
        raise BadEvent(f"event {ident}: data is not an object")
    size = len(json.dumps(data))
    if size > MAX_EVENT_BYTES:
        raise BadEvent(f"event {ident}: {size} bytes, more than {MAX_EVENT_BYTES}")
    inc = raw.get("incident")
    if not isinstance(inc, str) or (incident is not None and inc != incident):
        raise BadEvent(f"event {ident}: for another incident")
    at = raw.get("at")
    event = Event(
        id=ident,
        incident=inc,
        at=at if isinstance(at, datetime) else _time(at, f"event {ident} at"),
        host=_name(raw.get("host", ""), "host"),
        author=_name(raw.get("author", ""), "author"),
        kind=kind,
        data=data,
        v=v,
    )
    check_data(event)
    return event


def check_data(event: Event) -> None:
    """Decode the payload once, so a bad one is refused before anything is applied."""
    data = event.data
    if event.kind in (ENTRY_ADDED, ENTRY_EDITED):
        entry_from(data)
    elif event.kind in (ACTION_ADDED, ACTION_EDITED):
        action_from(data)
    elif event.kind in (ENTRY_DELETED, ACTION_DELETED):
        _name(data.get("id"), "id")
    elif event.kind == FIELD_SET:
        name = data.get("name")
        if name not in FIELDS:
            raise BadEvent(f"event {event.id}: unknown field {str(name)[:40]!r}")
        decode_value(name, data.get("value"))
    elif event.kind == CREATED:
        incident_from(data)


# -- producing events from a write ------------------------------------------------------------


def diff(before: Incident, after: Incident, host: str, author: str) -> list[Event]:
    """The events that turn ``before`` into ``after`` (header fields, entries, action items)."""
    out: list[Event] = []
    inc = after.id
    for name in FIELDS:
        old, new = get_field(before, name), get_field(after, name)
        if old != new:
            data = {"name": name, "value": encode_value(name, new), "old": encode_value(name, old)}
            out.append(make(inc, FIELD_SET, data, host, author))
    out += _diff_list(inc, before.timeline, after.timeline, host, author, entry_data,
                      (ENTRY_ADDED, ENTRY_EDITED, ENTRY_DELETED))  # fmt: skip
    out += _diff_list(inc, before.action_items, after.action_items, host, author, action_data,
                      (ACTION_ADDED, ACTION_EDITED, ACTION_DELETED))  # fmt: skip
    return out


def _diff_list(
    inc: str,
    before: list[Any],
    after: list[Any],
    host: str,
    author: str,
    encode: Any,
    kinds: tuple[str, str, str],
) -> list[Event]:
    added, edited, deleted = kinds
    old = {item.id: item for item in before}
    out: list[Event] = []
    seen: set[str] = set()
    for item in after:
        seen.add(item.id)
        was = old.get(item.id)
        if was is None:
            out.append(make(inc, added, encode(item), host, _by(item, author)))
        elif was != item:
            out.append(make(inc, edited, encode(item), host, author))
    for ident in old.keys() - seen:
        out.append(make(inc, deleted, {"id": ident}, host, author))
    return out


def _by(item: Any, author: str) -> str:
    return getattr(item, "author", "") or author


def appended(incident: str, items: tuple[Any, ...], host: str, author: str) -> list[Event]:
    out: list[Event] = []
    for item in items:
        if isinstance(item, TimelineEntry):
            out.append(make(incident, ENTRY_ADDED, entry_data(item), host, item.author or author))
        elif isinstance(item, ActionItem):
            out.append(make(incident, ACTION_ADDED, action_data(item), host, author))
    return out
