"""Which writes of a Store become events: notes of the chosen kinds, status, severity,
resolution; in a shared incident only this host's (the others' warroom tells their own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.notify.hooks import changes
from warroom.sessions.model import Incident, Kind, Source, TimelineEntry
from warroom.sessions.store import Store
from warroom.sessions.store.writer import Written

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _store(tmp_path: Path, share: str = "") -> tuple[Store, list[dict[str, object]]]:
    incident = Incident.create("orders DB", T0, severity="SEV2")
    incident.share = share
    store = Store.create(tmp_path / "s.toml", incident)
    got: list[dict[str, object]] = []

    def observer(written: Written) -> None:  # as hooks.watch's: right after each write
        got.extend(changes(written))

    store.observe(observer)
    return store, got


def _entry(kind: Kind, text: str, author: str, minutes: int = 1) -> TimelineEntry:
    return TimelineEntry(at=T0 + timedelta(minutes=minutes), text=text, kind=kind, author=author,
                         source=Source.CLI)  # fmt: skip


def test_notes_status_and_severity_become_events(tmp_path: Path) -> None:
    store, got = _store(tmp_path)
    store.append_entry(_entry(Kind.DECISION, "fail over", "ann"))
    store.append_entry(_entry(Kind.NOTE, "just looking", "ann"))
    store.update(lambda inc: inc.severity_change("SEV1", T0 + timedelta(minutes=2), "ann",
                                                 Source.CLI))  # fmt: skip
    store.update(lambda inc: inc.status_change("identified", T0 + timedelta(minutes=3), "ann",
                                               Source.CLI))  # fmt: skip
    assert [(e["type"], e.get("kind"), e.get("severity"), e.get("status")) for e in got] == [
        ("note", "decision", None, None),
        ("incident.severity", None, "SEV1", None),
        ("incident.status", None, None, "identified"),
    ]
    assert got[2]["at"] == "2026-11-24T09:03:00Z" and got[2]["incident"]["severity"] == "SEV1"


def test_shared_incident_publishes_only_this_hosts_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARROOM_HOST", "here")
    store, got = _store(tmp_path, share="host=ops dbname=warroom")
    store.append_entry(_entry(Kind.DECISION, "ours", "ann@here"))
    store.append_entry(_entry(Kind.DECISION, "theirs", "bob@there"))
    store.update(lambda inc: inc.status_change("identified", T0 + timedelta(minutes=3),
                                               "bob@there", Source.CLI))  # fmt: skip
    assert [e["text"] for e in got] == ["ours"]
