"""Rollups the disk refuses wait in memory and land, in order, once it has room again.

A real full filesystem: a small tmpfs mounted for the test (root only), filled to the last byte
by a file that is then removed. Nothing is mocked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.polling import wait_until as until
from support.small_disk import fill, small_tmpfs

from warroom.sessions import recorder as recorder_module
from warroom.sessions.model import Incident, SampleRollup, Source, TimelineEntry
from warroom.sessions.recorder import Recorder
from warroom.sessions.store import SessionError, Store

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def rollup(second: int, server: str | None = None) -> SampleRollup:
    # Every field the same width whatever ``second``: each block is as long as the next.
    return SampleRollup(at=T0 + timedelta(seconds=second), samples=10, conn_max=5,
                        max_connections=50, server=server)  # fmt: skip


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk") as where:
        yield where


def plug(store: Store) -> list[tuple[datetime, str | None]]:
    """Fill the last page of the session file, which a full tmpfs still lets appends use.

    Rollups one hour before the test's are appended until one is refused; returns what landed.
    """
    landed: list[tuple[datetime, str | None]] = []
    for k in range(1000):
        one = rollup(k - 3600)
        try:
            store.append_samples([one])
        except SessionError as exc:
            assert "No space left on device" in str(exc)
            return landed
        landed.append((one.at, None))
    raise AssertionError("the disk never filled")


def samples_of(path: Path) -> list[tuple[datetime, str | None]]:
    with path.open("rb") as handle:
        doc = tomllib.load(handle)  # the file is valid TOML throughout
    return [(s["at"], s.get("server")) for s in doc.get("samples", [])]


def test_rollups_refused_by_a_full_disk_wait_and_land_in_order_once(small_disk: Path) -> None:
    store = Store.create(small_disk / "incident.toml", Incident.create("orders", T0))
    filler = small_disk / "filler"
    fill(filler)
    plugged = plug(store)
    recorder = Recorder(store)
    sent: list[SampleRollup] = []
    futures = []
    for i in range(40):  # two servers' rollups per window, as a primary and its replica
        batch = [rollup(10 * i, "primary"), rollup(10 * i, "replica")]
        sent += batch
        futures.append(recorder.append_samples(batch))
    until(lambda: recorder.held == len(sent))
    assert "No space left on device" in (recorder.error or "")
    assert not any(f.done() for f in futures)
    assert samples_of(store.path) == plugged
    # Other writes go on meanwhile: a note fails (it stays in the dashboard's box) at once.
    note = recorder.append_entry(TimelineEntry(at=T0, text="typed while full " * 100,
                                               source=Source.MANUAL))  # fmt: skip
    with pytest.raises(SessionError, match="No space left on device"):
        note.result(timeout=10)
    filler.unlink()
    for future in futures:
        assert future.result(timeout=15) is None  # written
    want = [(r.at, r.server) for r in sent]
    assert samples_of(store.path) == plugged + want  # every one, in order, none twice
    assert recorder.error is None and recorder.pending == 0
    # Written after the held ones, in order too.
    recorder.append_samples([rollup(400, "primary")]).result(timeout=10)
    assert samples_of(store.path) == [*plugged, *want, (rollup(400).at, "primary")]
    assert recorder.close() == 0


def test_past_the_bound_the_oldest_are_dropped_and_the_record_says_so(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "HELD_MAX", 10)
    store = Store.create(small_disk / "incident.toml", Incident.create("orders", T0))
    filler = small_disk / "filler"
    fill(filler)
    plugged = plug(store)
    recorder = Recorder(store)
    futures = [recorder.append_samples([rollup(10 * i)]) for i in range(25)]
    for future in futures[:15]:
        assert future.result(timeout=10) is False  # dropped, the oldest first
    until(lambda: recorder.held == 10)
    assert (recorder.error or "").startswith("15 oldest rollups dropped, 10 rollups wait for")
    filler.unlink()
    for future in futures[15:]:
        assert future.result(timeout=15) is None
    assert samples_of(store.path) == plugged + [(rollup(10 * i).at, None) for i in range(15, 25)]
    # The gap note follows the last held rollup in a write of its own: wait for it, not for the
    # header's message (gone as soon as nothing is held).
    def notes_of() -> list[str]:
        with store.path.open("rb") as handle:
            return [e["text"] for e in tomllib.load(handle).get("timeline", [])]

    until(lambda: notes_of())
    until(lambda: recorder.error is None)
    notes = notes_of()
    assert len(notes) == 1
    assert notes[0].startswith("15 sample rollups from 2026-11-24 09:00:00Z to 09:02:20Z were")
    assert recorder.close() == 0


def test_closing_while_the_disk_is_full_keeps_nothing_unsaid(
    small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from types import SimpleNamespace

    from warroom.tui.launch import report_pending

    store = Store.create(small_disk / "incident.toml", Incident.create("orders", T0))
    fill(small_disk / "filler")
    plugged = plug(store)
    recorder = Recorder(store)
    recorder.append_samples([rollup(0), rollup(10)])
    until(lambda: recorder.held == 2)
    # Nothing fits, not even the pending file: close says how many writes were not kept.
    kept = recorder.close(timeout=0.5)
    assert kept == 1
    assert recorder.kept_in is None
    assert samples_of(store.path) == plugged
    # ...and so does the dashboard's last line on the way out (what run_watch prints).
    report_pending(SimpleNamespace(kept_pending=kept, recorder=recorder))  # type: ignore[arg-type]
    said = capsys.readouterr().err
    assert "1 write(s) could not be saved anywhere" in said
    assert "No space left on device" in said
