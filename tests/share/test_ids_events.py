"""UUIDv7 ids, event validation, and the merge rules (no database)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from warroom.sessions.ids import UUID_RE, new_uuid7, uuid7, uuid7_ms
from warroom.sessions.model import Incident, Kind, Status, TimelineEntry, new_id
from warroom.sessions.share import events as ev
from warroom.sessions.share.events import BadEvent
from warroom.sessions.share.merge import Merger, apply_derived, fold

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_uuid7_is_a_version_7_uuid_ordered_by_time() -> None:
    ids = [new_uuid7() for _ in range(5000)]
    assert all(UUID_RE.match(i) for i in ids)
    assert ids == sorted(ids)  # within one process, even inside one millisecond
    assert len(set(ids)) == len(ids)
    assert uuid.UUID(ids[0]).version == 7
    assert uuid7_ms(str(uuid7(now_ms=1_700_000_000_000 + 10**6))) is not None
    assert uuid7_ms("deadbeef") is None  # old 8-hex ids are just ids


def test_new_entries_get_uuid7_ids() -> None:
    assert UUID_RE.match(new_id())
    assert UUID_RE.match(TimelineEntry(at=T0, text="x").id)


def _event(kind: str, data: dict, **over: object) -> dict:
    raw = {"v": 1, "id": new_uuid7(), "incident": "inc", "at": T0.isoformat(), "host": "h",
           "author": "a", "kind": kind, "data": data}
    raw.update(over)
    return raw


ENTRY = {"id": "e1", "at": T0.isoformat(), "kind": "note", "text": "hi", "author": "a",
         "source": "cli"}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not json", "not JSON"),
        ([1, 2], "not an object"),
        (_event(ev.ENTRY_ADDED, ENTRY, v=2), "newer"),
        (_event(ev.ENTRY_ADDED, ENTRY, v="1"), "no version"),
        (_event(ev.ENTRY_ADDED, ENTRY, id="deadbeef"), "UUIDv7"),
        (_event("entry.exploded", ENTRY), "unknown kind"),
        (_event(ev.ENTRY_ADDED, "x"), "not an object"),
        (_event(ev.ENTRY_ADDED, {**ENTRY, "text": "x" * 70_000}), "bytes"),
        (_event(ev.ENTRY_ADDED, {**ENTRY, "kind": "bogus"}), "entry"),
        (_event(ev.ENTRY_ADDED, ENTRY, incident="other"), "another incident"),
        (_event(ev.FIELD_SET, {"name": "severity", "value": "SEV9"}), "severity"),
        (_event(ev.FIELD_SET, {"name": "target.dsn", "value": "x"}), "unknown field"),
        (_event(ev.ENTRY_ADDED, ENTRY, at="yesterday"), "time"),
    ],
)
def test_bad_events_are_refused_with_a_reason(raw: object, why: str) -> None:
    with pytest.raises(BadEvent, match=why):
        ev.parse_event(raw if isinstance(raw, str) else json.dumps(raw), "inc")


def test_event_text_is_sanitised() -> None:
    raw = _event(ev.ENTRY_ADDED, {**ENTRY, "text": "ok\x1b[31m red\u202e evil\x07"})
    entry = ev.entry_from(ev.parse_event(raw, "inc").data)
    assert entry.text == "ok red evil"


def _incident() -> Incident:
    return Incident.create("orders", T0)


def test_diff_turns_a_status_change_into_field_and_entry_events() -> None:
    before = _incident()
    after = before.copy()
    after.status_change(Status.IDENTIFIED, T0 + timedelta(minutes=5), "a")
    kinds = sorted((e.kind, e.data.get("name", "")) for e in ev.diff(before, after, "h", "a"))
    assert kinds == [
        (ev.ENTRY_ADDED, ""), (ev.FIELD_SET, "identified_at"), (ev.FIELD_SET, "status"),
    ]


def _status_events(base: Incident, status: str, host: str, minute: int) -> list[ev.Event]:
    after = base.copy()
    after.status_change(status, T0 + timedelta(minutes=minute), f"u@{host}")
    return ev.diff(base, after, host, f"u@{host}")


def test_concurrent_header_changes_merge_the_same_way_in_either_order() -> None:
    base = _incident()
    created = ev.make(base.id, ev.CREATED, ev.header_data(base), "hostA", "a")
    a = _status_events(base, "identified", "hostA", 5)
    b = _status_events(base, "monitoring", "hostB", 6)  # made later: it wins
    one, _ = fold(created, [*a, *b])
    two, _ = fold(created, [*b, *a])
    # Incrementally, each host having applied its own first:
    hosts = []
    for mine, theirs in ((a, b), (b, a)):
        work, merger = fold(created, mine)
        for event in theirs:
            apply_derived(work, *merger.apply(work, event))
        hosts.append(work)
    for inc in (one, two, *hosts):
        assert inc.status is Status.MONITORING
    ids = [sorted(e.id for e in inc.timeline) for inc in (one, two, *hosts)]
    assert ids[0] == ids[1] == ids[2] == ids[3]
    texts = [e.text for e in hosts[0].timeline]
    assert any("identified" in t and "overwritten by monitoring" in t for t in texts)
    assert sum(e.kind is Kind.STATUS for e in hosts[0].timeline) == 3  # two changes + the loss


def test_merging_is_idempotent_and_deletes_stay_deleted() -> None:
    base = _incident()
    entry = TimelineEntry(at=T0, text="x")
    add = ev.make(base.id, ev.ENTRY_ADDED, ev.entry_data(entry), "h", "a")
    delete = ev.make(base.id, ev.ENTRY_DELETED, {"id": entry.id}, "h", "a")
    merger = Merger()
    for event in (add, add, delete, add):
        merger.apply(base, event)
    assert base.timeline == []


def test_entries_at_the_same_time_show_in_the_same_order_on_every_host() -> None:
    first, second = TimelineEntry(at=T0, text="1"), TimelineEntry(at=T0, text="2")
    old_b, old_a = TimelineEntry(at=T0, text="b", id="ffff0000"), TimelineEntry(
        at=T0, text="a", id="00001111"
    )
    one, two = _incident(), _incident()
    one.timeline = [old_b, old_a, first, second]
    two.timeline = [old_b, old_a, second, first]  # another host appended them the other way
    order = [e.text for e in one.entries_in_order()]
    assert order == [e.text for e in two.entries_in_order()] == ["b", "a", "1", "2"]


def test_three_hosts_changing_the_status_at_once_end_with_the_same_record() -> None:
    import itertools

    base = _incident()
    created = ev.make(base.id, ev.CREATED, ev.header_data(base), "hostA", "a")
    changes = {
        "A": _status_events(base, "identified", "hostA", 5),
        "B": _status_events(base, "monitoring", "hostB", 6),
        "C": _status_events(base, "resolved", "hostC", 7),
    }
    results = []
    for order in itertools.permutations("ABC"):
        work, merger = fold(created, changes[order[0]])  # its own change first, as a host does
        for name in order[1:]:
            for event in changes[name]:
                apply_derived(work, *merger.apply(work, event))
        results.append(work)
    ids = {tuple(sorted(e.id for e in inc.timeline)) for inc in results}
    assert len(ids) == 1
    assert {inc.status for inc in results} == {Status.RESOLVED}
    lost = [e.text for e in results[0].timeline if "overwritten" in e.text]
    assert len(lost) == 2  # identified by monitoring, monitoring by resolved
