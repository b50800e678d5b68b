"""Applying others' events to a record: idempotent, and the same on every host.

Entries and action items merge by id (a repeat is a no-op, a delete leaves a tombstone so a late
copy does not bring it back). Header fields are last-writer-wins by the event's (time, id); when
a change overwrites a value its author had not seen (two hosts changed the field at once), the
losing value is logged as a timeline entry. That entry is derived from the two events alone
(its id is a UUIDv5 of theirs, its text and time come from them), so both hosts write the very
same entry without telling each other.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warroom.sanitize import one_line
from warroom.sessions.model import Incident, Kind, ModelError, Source, TimelineEntry
from warroom.sessions.share import events as ev
from warroom.sessions.share.events import BadEvent, Event

_CONFLICT_NS = uuid.UUID("7d3f0d5e-3b0e-4f5c-9a53-5a7e0c2f1b61")


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who set a header field last, and to what."""

    at: datetime
    id: str
    host: str
    author: str
    value: Any

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.at, self.id)

    @classmethod
    def of(cls, event: Event, value: Any) -> Stamp:
        return cls(event.at, event.id, event.host, event.author, value)


_UNSEEN = object()  # the value an author saw is unknown (the incident's creation)


@dataclass(frozen=True, slots=True)
class _Set:
    """One change of a header field, as the merge rules need it."""

    stamp: Stamp
    seen: Any  # the value its author replaced (the event's ``old``), or _UNSEEN

    @property
    def order(self) -> tuple[datetime, str]:
        return self.stamp.order


@dataclass(slots=True)
class Merger:
    """Every known change per header field, edit stamps and tombstones; rebuilt from the journal.

    A field's value is its latest change by (time, id). The entries that keep overwritten
    values are a function of the set of changes alone: for each change, the one right after it
    in that order overwrote it without having seen it (its ``old`` differs) -> one entry. So a
    host that learns the changes in another order still ends with the same entries; an entry
    made before a change in between was known is taken back (``apply`` returns what to remove).
    """

    stamps: dict[str, Stamp] = field(default_factory=dict)  # entry and action item edits
    deleted: set[str] = field(default_factory=set)
    history: dict[str, list[_Set]] = field(default_factory=dict)
    derived: dict[str, set[str]] = field(default_factory=dict)  # conflict entries now shown

    def copy(self) -> Merger:
        return Merger(
            dict(self.stamps),
            set(self.deleted),
            {k: list(v) for k, v in self.history.items()},
            {k: set(v) for k, v in self.derived.items()},
        )

    def winner(self, name: str) -> Stamp | None:
        changes = self.history.get(name)
        return changes[-1].stamp if changes else None

    def note(self, event: Event) -> None:
        """Remember an event the record already reflects (our own, or one applied earlier)."""
        try:
            if event.kind == ev.FIELD_SET:
                self._record(event)
            elif event.kind == ev.CREATED:
                for name in ev.FIELDS:
                    if name in event.data:
                        value = ev.decode_value(name, event.data[name])
                        self._insert(name, _Set(Stamp.of(event, value), _UNSEEN))
            elif event.kind in (ev.ENTRY_DELETED, ev.ACTION_DELETED):
                self.deleted.add(str(event.data["id"]))
            elif event.kind in (ev.ENTRY_EDITED, ev.ACTION_EDITED):
                key = f"item:{event.data['id']}"
                old = self.stamps.get(key)
                if old is None or event.order > old.order:
                    self.stamps[key] = Stamp.of(event, None)
        except (KeyError, BadEvent):
            pass  # parse_event checked it; a journal line from an older build is just not used

    def note_derived(self, name: str, entry_id: str, shown: bool) -> None:
        ids = self.derived.setdefault(name, set())
        if shown:
            ids.add(entry_id)
        else:
            ids.discard(entry_id)

    def _record(self, event: Event) -> _Set | None:
        name = event.data.get("name")
        if name not in ev.FIELDS:
            raise BadEvent(f"event {event.id}: unknown field {str(name)[:40]!r}")
        value = ev.decode_value(name, event.data.get("value"))
        seen: Any = _UNSEEN
        if "old" in event.data:
            old = event.data["old"]
            seen = ev.decode_value(name, old) if old is not None else None
        change = _Set(Stamp.of(event, value), seen)
        return change if self._insert(name, change) else None

    def _insert(self, name: str, change: _Set) -> bool:
        changes = self.history.setdefault(name, [])
        if any(c.stamp.id == change.stamp.id for c in changes):
            return False
        changes.append(change)
        changes.sort(key=lambda c: c.order)
        return True

    def conflicts(self, name: str) -> dict[str, TimelineEntry]:
        out: dict[str, TimelineEntry] = {}
        changes = self.history.get(name, [])
        for before, after in itertools.pairwise(changes):
            if after.seen is _UNSEEN or after.seen == before.stamp.value:
                continue  # its author had seen the value it replaced: an ordinary change
            if after.stamp.value != before.stamp.value:
                entry = _conflict(name, before.stamp, after.stamp)
                out[entry.id] = entry
        return out

    def apply(self, work: Incident, event: Event) -> tuple[list[TimelineEntry], set[str]]:
        """Apply one remote event to ``work``; returns (conflict entries to add, ids to remove).

        Raises BadEvent when the event cannot be applied (the caller logs and skips it).
        """
        kind, data = event.kind, event.data
        if kind == ev.ENTRY_ADDED:
            entry = ev.entry_from(data)
            if entry.id not in self.deleted and not _has(work.timeline, entry.id):
                try:
                    work.add_entry(entry)
                except ModelError:
                    # Its detection time conflicts with this header: keep the entry anyway.
                    work.timeline.append(entry)
        elif kind == ev.ENTRY_EDITED:
            self._edit(work.timeline, ev.entry_from(data), event)
        elif kind == ev.ACTION_ADDED:
            item = ev.action_from(data)
            if item.id not in self.deleted and not _has(work.action_items, item.id):
                work.action_items.append(item)
        elif kind == ev.ACTION_EDITED:
            self._edit(work.action_items, ev.action_from(data), event)
        elif kind in (ev.ENTRY_DELETED, ev.ACTION_DELETED):
            ident = str(data["id"])
            self.deleted.add(ident)
            work.timeline[:] = [e for e in work.timeline if e.id != ident]
            work.action_items[:] = [a for a in work.action_items if a.id != ident]
        elif kind == ev.FIELD_SET:
            return self._set(work, event)
        elif kind == ev.CREATED:
            self.note(event)  # a joiner starts from it; an existing record keeps its header
        return [], set()

    def _edit(self, items: list[Any], new: Any, event: Event) -> None:
        if new.id in self.deleted:
            return
        key = f"item:{new.id}"
        old = self.stamps.get(key)
        if old is not None and event.order < old.order:
            return  # a later edit already won
        self.stamps[key] = Stamp.of(event, None)
        for i, item in enumerate(items):
            if item.id == new.id:
                items[i] = new
                return
        items.append(new)

    def _set(self, work: Incident, event: Event) -> tuple[list[TimelineEntry], set[str]]:
        change = self._record(event)
        if change is None:
            return [], set()  # known already
        name = event.data["name"]
        winner = self.history[name][-1]
        current = ev.get_field(work, name)
        if winner is change and change.stamp.value != current:
            before = copy.copy(work.roles) if name.startswith("roles.") else current
            ev.set_field(work, name, change.stamp.value)
            try:
                work.check_key_times()
            except ModelError as exc:
                if name.startswith("roles."):
                    work.roles = before
                else:
                    ev.set_field(work, name, before)
                self.history[name].remove(change)
                raise BadEvent(f"{name}: {exc}") from None
        want = self.conflicts(name)
        shown = self.derived.setdefault(name, set())
        add = [entry for ident, entry in want.items() if ident not in shown]
        remove = shown - want.keys()
        self.derived[name] = set(want)
        return add, remove


def _has(items: list[Any], ident: str) -> bool:
    return any(item.id == ident for item in items)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, tuple):  # the contributing factors
        value = "; ".join(value)
    return one_line(value, 80) or "(empty)"


def _conflict(name: str, loser: Stamp, winner: Stamp) -> TimelineEntry:
    """The entry that keeps an overwritten value: identical on every host that sees both."""
    ident = str(uuid.uuid5(_CONFLICT_NS, f"{loser.id}/{winner.id}"))
    text = (
        f"{name} {_show(loser.value)} (set by {loser.author or '?'} on {loser.host or '?'}) "
        f"was overwritten by {_show(winner.value)} (set by {winner.author or '?'} on "
        f"{winner.host or '?'} at the same time)"
    )
    kind = Kind.STATUS if name == "status" else Kind.NOTE
    return TimelineEntry(
        at=winner.at, text=text, kind=kind, author="warroom", source=Source.AUTO, id=ident
    )


def fold(created: Event, events: list[Event], warn: Any = None) -> tuple[Incident, Merger]:
    """A record from its events alone (what `warroom join` writes), in (time, id) order."""
    incident = ev.incident_from(created.data)
    merger = Merger()
    merger.note(created)
    for event in sorted(events, key=lambda e: e.order):
        if event.id == created.id:
            continue
        try:
            add, remove = merger.apply(incident, event)
        except BadEvent as exc:
            if warn is not None:
                warn(f"skipped event {event.id} from {event.host}: {exc}")
            continue
        apply_derived(incident, add, remove)
    return incident, merger


def apply_derived(work: Incident, add: list[TimelineEntry], remove: set[str]) -> None:
    if remove:
        work.timeline[:] = [e for e in work.timeline if e.id not in remove]
    have = {e.id for e in work.timeline} if add else set()
    work.timeline.extend(e for e in add if e.id not in have)
