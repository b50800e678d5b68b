"""Contributing factors and follow-up statuses between hosts (issue 23): the events a change
makes, through JSON, give the same record on the other host; a malformed one is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from warroom.sessions.model import ActionItem, Incident
from warroom.sessions.share import events as ev
from warroom.sessions.share.events import BadEvent
from warroom.sessions.share.merge import fold

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _over_the_wire(events: list[ev.Event]) -> list[ev.Event]:
    """What another host reads back: the JSON the ops database stores, validated."""
    out = []
    for event in events:
        back = ev.parse_event(json.loads(json.dumps(event.to_json())))
        out.append(back)
    return out


def test_factors_and_statuses_reach_the_other_host() -> None:
    base = Incident.create("orders", T0)
    base.action_items = [ActionItem("cap the pool", id="a1"), ActionItem("rewrite", id="a2")]
    created = ev.make(base.id, ev.CREATED, ev.header_data(base), "hostA", "a")
    after = base.copy()
    after.apply_changes({"contributing_factors": ["no pool cap", "no alert"]}, T0, "a")
    after.set_action_status("a1", "done")
    after.set_action_status("a2", "wont_do")
    made = ev.diff(base, after, "hostA", "a")
    assert "contributing_factors" in {e.data.get("name") for e in made}

    added = [ev.make(base.id, ev.ACTION_ADDED, ev.action_data(a), "hostA", "a")
             for a in base.action_items]  # fmt: skip
    other, _ = fold(created, _over_the_wire([*added, *made]))
    assert other.contributing_factors == ("no pool cap", "no alert")
    assert [(a.id, a.status.value) for a in other.action_items] == [("a1", "done"),
                                                                    ("a2", "wont_do")]


def test_an_action_event_from_a_host_before_statuses_reads_done() -> None:
    old = {"id": "a1", "text": "cap", "owner": "", "kind": "prevent", "due": None, "done": True}
    assert ev.action_from(old).status.value == "done"
    assert ev.action_from({**old, "done": False}).status.value == "open"


@pytest.mark.parametrize("value", ["no pool cap", [1], ["x"] * 101, None])
def test_a_malformed_factors_event_is_refused(value: object) -> None:
    with pytest.raises(BadEvent, match="contributing_factors"):
        ev.decode_value("contributing_factors", value)
