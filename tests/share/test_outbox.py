"""The journal beside a shared session (no database: nothing here connects)."""

from __future__ import annotations

import json
from pathlib import Path

from warroom.sessions.model import Incident, TimelineEntry
from warroom.sessions.share import client
from warroom.sessions.share.outbox import LOCAL, Outbox
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow


def _shared(tmp_path: Path) -> tuple[Store, Outbox]:
    store = Store.create(tmp_path / "inc.toml", Incident.create("x", utcnow()))
    return store, client.start_sharing(store, "host=ops.invalid password=s3cret", "h", "a@h")


def test_every_write_is_journaled_before_it_returns(tmp_path: Path) -> None:
    store, outbox = _shared(tmp_path)
    assert "s3cret" not in store.path.read_text()
    entry = TimelineEntry(at=utcnow(), text="one")
    store.append_entry(entry)
    store.update(lambda inc: inc.set_severity("SEV1"))
    kinds = [line.event["kind"] for line in outbox.pending()]
    assert kinds == ["incident.created", "entry.added", "field.set"]
    assert all(line.origin == LOCAL for line in outbox.pending())


def test_a_torn_journal_line_is_kept_beside_and_cut_off(tmp_path: Path) -> None:
    store, outbox = _shared(tmp_path)
    with open(outbox.journal, "ab") as handle:
        handle.write(b'{"o":"local","seq":null,"e":{"id":"01')  # a writer killed mid-line
    again = Outbox.attach(Store.open(store.path), "h", "a@h")
    again.store.append_entry(TimelineEntry(at=utcnow(), text="after the tear"))
    lines = outbox.journal.read_bytes().splitlines()
    assert all(json.loads(raw) for raw in lines)  # whole lines only
    assert [p.name for p in tmp_path.glob("*torn*")]
    assert [li.event["kind"] for li in again.pending()][-1] == "entry.added"


def test_reconcile_journals_what_a_crash_left_out(tmp_path: Path) -> None:
    store, _ = _shared(tmp_path)
    plain = Store.open(store.path)  # a writer without the observer: as if killed before it
    entry = TimelineEntry(at=utcnow(), text="only in the record")
    plain.append_entry(entry)
    plain.update(lambda inc: inc.set_severity("SEV3"))
    outbox = Outbox.attach(Store.open(store.path), "h", "a@h")
    made = {(li.event["kind"], li.event["data"].get("id") or li.event["data"].get("name"))
            for li in outbox.pending()}
    assert ("entry.added", entry.id) in made and ("field.set", "severity") in made
    assert Outbox.attach(Store.open(store.path), "h", "a@h").reconcile() == 0  # once only
