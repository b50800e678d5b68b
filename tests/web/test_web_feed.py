"""The file follower: appends read on their own, rewrites and torn tails read whole, no writes."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

from support.web import small_incident, write_session

from warroom.sessions.model import SampleRollup, Source, TimelineEntry
from warroom.sessions.store import Store, load
from warroom.web.feed import Feed, FileFollower


def _note(text: str) -> TimelineEntry:
    return TimelineEntry(at=datetime.now(UTC), text=text, source=Source.CLI)


def test_appends_then_a_rewrite_match_a_whole_load(tmp_path: Path) -> None:
    path = write_session(tmp_path / "s.toml", small_incident())
    follower = FileFollower(path)
    follower.first()
    store = Store.open(path)
    store.append_entry(_note("one"))
    store.append_samples([SampleRollup(at=datetime.now(UTC), conn_max=3, max_connections=9)])
    store.append_entry(_note("two"))
    appended = follower.read()
    assert follower._follower._offset == path.stat().st_size  # read as an append, not a whole load
    assert appended == load(path).incident
    store.update(lambda inc: inc.status_change("identified", datetime.now(UTC)))
    assert follower.read() == load(path).incident
    assert follower.read().status.value == "identified"


def test_a_torn_tail_is_left_out_and_left_alone(tmp_path: Path) -> None:
    path = write_session(tmp_path / "s.toml", small_incident())
    follower = FileFollower(path)
    before = follower.first()
    with open(path, "ab") as handle:
        handle.write(b'[[timeline]]\nid = "abc"\nat = 2026-11-')
    torn = path.read_bytes()
    assert follower.read() == before
    assert path.read_bytes() == torn  # nothing repaired by a reader


def test_following_creates_no_files(tmp_path: Path) -> None:
    path = write_session(tmp_path / "s.toml", small_incident())
    os.unlink(path.with_name(path.name + ".lock"))
    listing = sorted(os.listdir(tmp_path))

    async def follow() -> int:
        feed = Feed(FileFollower(path).first())
        follower = FileFollower(path, poll=0.01)
        task = asyncio.create_task(follower.run(feed))
        os.utime(path)  # a change to notice
        snapshot = await feed.wait(1, timeout=5)
        task.cancel()
        return snapshot.version if snapshot else 0

    assert asyncio.run(follow()) == 2
    assert sorted(os.listdir(tmp_path)) == listing


def test_a_vanished_file_is_reported_and_the_last_state_kept(tmp_path: Path) -> None:
    path = write_session(tmp_path / "s.toml", small_incident())

    async def follow() -> tuple[str | None, str]:
        follower = FileFollower(path, poll=0.01)
        feed = Feed(follower.first())
        task = asyncio.create_task(follower.run(feed))
        path.rename(tmp_path / "gone.toml")
        snapshot = await feed.wait(1, timeout=5)
        task.cancel()
        assert snapshot is not None
        return snapshot.problem, snapshot.incident.title

    problem, title = asyncio.run(follow())
    assert problem is not None and "gone away" in problem
    assert title == "orders DB refusing connections"
