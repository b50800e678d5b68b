"""Property: any incident, written through create + appends + updates, reads back equal.

And a plain ``tomllib`` reader can read the file after every single step.
"""

from __future__ import annotations

import dataclasses
import tempfile
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.sessions.model import (
    KEY_TIMES,
    SEVERITIES,
    TEXT_FIELDS,
    ActionItem,
    ActionKind,
    ActionStatus,
    Incident,
    Kind,
    ModelError,
    Roles,
    SampleRollup,
    Source,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.store import SessionError, Store, load, load_header

# Text TOML can carry: any Unicode scalar value (not lone surrogates), including control
# characters, quotes, backslashes, newlines, and lines that look like TOML headers.
TRICKY = [
    '"',
    "'",
    "\\",
    "\n",
    "\r\n",
    '"""',
    "'''",
    "\x00",
    "\x1b",
    "\x7f",
    "\u2028",
    "\ufeff",
    "\n[[timeline]]\n",
    "a = 1",
    "#",
    "\t",
    "é",
    "🔥",
]
texts = st.lists(
    st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(TRICKY), max_size=4
).map("".join)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones
)
ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=10)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
floats = st.floats(allow_nan=False)


def entries(entry_ids: st.SearchStrategy[str]) -> st.SearchStrategy[TimelineEntry]:
    return st.builds(
        TimelineEntry,
        at=moments,
        text=texts,
        kind=st.sampled_from(Kind),
        author=texts,
        source=st.sampled_from(Source),
        id=entry_ids,
    )


action_items = st.builds(
    ActionItem,
    text=texts,
    owner=texts,
    kind=st.sampled_from(ActionKind),
    due=st.none() | st.dates(),
    status=st.sampled_from(ActionStatus),
    id=ids,
)
rollups = st.builds(
    SampleRollup,
    at=moments,
    seconds=st.floats(min_value=0.001, max_value=86400),
    samples=st.integers(0, 10_000),
    status=st.sampled_from(["up", "down", "partial"]),
    conn_min=st.none() | ints,
    conn_mean=st.none() | floats,
    conn_max=st.none() | ints,
    max_connections=st.none() | ints,
    query_p50_ms=st.none() | floats,
    query_p95_ms=st.none() | floats,
    query_max_ms=st.none() | floats,
    connect_max_ms=st.none() | floats,
    refused=st.integers(0, 10_000),
)


@st.composite
def headers(draw: st.DrawFn) -> Incident:
    started = draw(moments)
    offsets = sorted(
        draw(st.lists(st.timedeltas(timedelta(0), timedelta(days=9)), min_size=4, max_size=4))
    )
    # In KEY_TIMES order, so every (earlier, later) rule holds; any of them may be unset.
    times = {
        name: draw(st.none() | st.just(started + offset))
        for name, offset in zip(KEY_TIMES[1:], offsets, strict=True)
    }
    return Incident(
        id=draw(ids),
        title=draw(texts),
        started_at=started,
        severity=draw(st.sampled_from(SEVERITIES)),
        status=draw(st.sampled_from(Status)),
        **times,
        **{name: draw(texts) for name in TEXT_FIELDS},
        contributing_factors=tuple(draw(st.lists(texts, max_size=3))),
        roles=Roles(commander=draw(texts), scribe=draw(texts), comms=draw(texts)),
        target=Target(
            dsn=draw(st.sampled_from(["", "host=db1 dbname=orders", "postgresql://app@db1/o"])),
            pgbouncer=draw(st.sampled_from(["", "host=127.0.0.1 port=6432 dbname=pgbouncer"])),
        ),
    )


# What a session goes through: appends of all three kinds, and the rewrites the TUI and CLI do.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("entry"), entries(st.uuids().map(str))),
        st.tuples(st.just("samples"), st.lists(rollups, max_size=3)),
        st.tuples(st.just("action"), action_items),
        st.tuples(st.just("status"), st.sampled_from(Status), moments, texts),
        st.tuples(st.just("text"), st.sampled_from((*TEXT_FIELDS, "title")), texts),
        st.tuples(st.just("severity"), st.sampled_from(SEVERITIES)),
        st.tuples(st.just("edit"), st.integers(0, 20), texts),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("done"), st.integers(0, 20), st.sampled_from(ActionStatus)),
    ),
    max_size=10,
)


def apply(store: Store, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "entry":
        store.append_entry(op[1])
    elif kind == "samples":
        store.append_samples(op[1])
    elif kind == "action":
        if any(item.id == op[1].id for item in store.incident.action_items):
            # An id the record holds already is refused: a reader would show it once.
            with pytest.raises(SessionError, match="already has an action item"):
                store.append_action_item(op[1])
        else:
            store.append_action_item(op[1])
    elif kind == "status":
        store.update(lambda inc: inc.status_change(op[1], op[2], op[3]))
    elif kind == "text":
        store.update(lambda inc: setattr(inc, op[1], op[2]))
    elif kind == "severity":
        store.update(lambda inc: inc.set_severity(op[1]))
    elif kind in ("edit", "delete") and store.incident.timeline:
        entry = store.incident.timeline[op[1] % len(store.incident.timeline)]
        if kind == "edit":
            store.update(lambda inc: inc.replace_entry(entry.id, text=op[2]))
        else:
            store.update(lambda inc: inc.remove_entry(entry.id))
    elif kind == "done" and store.incident.action_items:
        i = op[1] % len(store.incident.action_items)

        def toggle(inc: Incident) -> None:
            item = inc.action_items[i]
            inc.action_items[i] = ActionItem(
                text=item.text,
                owner=item.owner,
                kind=item.kind,
                due=item.due,
                status=op[2],
                id=item.id,
            )

        store.update(toggle)


def apply_in_memory(incident: Incident, op: tuple[Any, ...], store: Store) -> None:
    """The same operation on a plain Incident, as the model alone defines it."""
    kind = op[0]
    if kind == "entry":
        incident.add_entry(op[1])
    elif kind == "samples":
        incident.samples.extend(op[1])
    elif kind == "action":
        if all(item.id != op[1].id for item in incident.action_items):
            incident.action_items.append(op[1])
    elif kind == "status":
        made = incident.status_change(op[1], op[2], op[3])
        # The entry's id is random: take the store's, after checking all else matches.
        theirs = store.incident.timeline[-1]
        assert dataclasses.replace(made, id=theirs.id) == theirs
        incident.timeline[-1] = theirs
    elif kind == "text":
        setattr(incident, op[1], op[2])
    elif kind == "severity":
        incident.set_severity(op[1])
    elif kind in ("edit", "delete") and incident.timeline:
        entry = incident.timeline[op[1] % len(incident.timeline)]
        if kind == "edit":
            incident.replace_entry(entry.id, text=op[2])
        else:
            incident.remove_entry(entry.id)
    elif kind == "done" and incident.action_items:
        i = op[1] % len(incident.action_items)
        incident.action_items[i] = incident.action_items[i].with_status(op[2])



def plain_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        doc = tomllib.load(f)
    assert path.read_bytes().startswith(b"schema = 2\n")
    return doc


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    header=headers(),
    initial=st.lists(entries(ids), max_size=4, unique_by=lambda e: e.id),
    items=st.lists(action_items, max_size=2, unique_by=lambda a: a.id),
    samples=st.lists(rollups, max_size=3),
    ops=operations,
)
def test_round_trip(
    header: Incident,
    initial: list[TimelineEntry],
    items: list[ActionItem],
    samples: list[SampleRollup],
    ops: list[tuple[Any, ...]],
) -> None:
    incident = header
    incident.timeline = list(initial)
    incident.action_items = list(items)
    incident.samples = list(samples)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s" / "incident.toml"
        store = Store.create(path, incident)
        doc = plain_toml(path)
        assert len(doc.get("timeline", [])) == len(initial)
        assert load(path).incident == incident
        expected = incident.copy()
        for op in ops:
            before = path.read_bytes()
            try:
                apply(store, op)
            except ModelError:
                # Refused by the model (say, detection before impact start): nothing written,
                # nothing changed in memory.
                assert path.read_bytes() == before
                assert store.incident == expected
                continue
            apply_in_memory(expected, op, store)
            assert store.incident == expected
            doc = plain_toml(path)
            assert len(doc.get("timeline", [])) == len(store.incident.timeline)
        loaded = load(path)
        assert loaded.torn is None
        assert loaded.incident == store.incident
        header_only = load_header(path)
        assert header_only.title == store.incident.title
        assert header_only.key_times() == store.incident.key_times()
        assert Store.open(path).incident == store.incident
