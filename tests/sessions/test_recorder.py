"""The Recorder: writes queued in order, delayed by another writer's lock and never dropped.

Real processes hold the lock and real processes are killed; nothing here is mocked.
"""

from __future__ import annotations

import os
import signal
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.lockholder import LockHolder
from support.polling import wait_until as until

from warroom.sessions import pending
from warroom.sessions.model import Incident, Kind, SampleRollup, Source, Status, TimelineEntry
from warroom.sessions.mutations import Mutation
from warroom.sessions.recorder import STALL_S, Recorder
from warroom.sessions.store import SessionError, Store, load

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def note(text: str, minute: float = 1) -> TimelineEntry:
    return TimelineEntry(at=T0 + timedelta(minutes=minute), text=text, source=Source.MANUAL)


def rollup(second: int, conns: int = 5) -> SampleRollup:
    return SampleRollup(at=T0 + timedelta(seconds=second), samples=10, conn_max=conns,
                        max_connections=50, conn_last=conns, by_state=(("idle", conns),))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.create(tmp_path / "incident.toml", Incident.create("orders", T0))


def texts(path: Path) -> list[str]:
    return [e["text"] for e in tomllib.loads(path.read_text()).get("timeline", [])]


def test_writes_land_in_order_and_futures_say_when(store: Store) -> None:
    recorder = Recorder(store)
    futures = [recorder.append_entry(note(f"n{i}")) for i in range(20)]
    futures.append(recorder.append_samples([rollup(0), rollup(10)]))
    futures.append(recorder.mutate(Mutation.status(Status.IDENTIFIED, T0 + timedelta(minutes=3),
                                                   "ana", Source.MANUAL)))
    for future in futures:
        future.result(timeout=10)
    assert texts(store.path)[:20] == [f"n{i}" for i in range(20)]
    loaded = load(store.path).incident
    assert loaded.status is Status.IDENTIFIED
    assert [r.conn_max for r in loaded.samples] == [5, 5]
    assert recorder.close() == 0


def test_a_refused_write_fails_its_future_and_the_rest_go_on(store: Store) -> None:
    recorder = Recorder(store)
    bad = recorder.mutate(Mutation.edit("no-such-id", T0, Kind.NOTE, "x"))
    good = recorder.append_entry(note("after the bad one"))
    with pytest.raises(Exception, match="no timeline entry"):
        bad.result(timeout=10)
    good.result(timeout=10)
    assert texts(store.path) == ["after the bad one"]
    recorder.close()


def test_lock_held_elsewhere_delays_writes_keeps_them_pending_and_never_drops_them(
    store: Store,
) -> None:
    recorder = Recorder(store)
    with LockHolder(store.path) as holder:
        futures = [recorder.append_entry(note(f"while locked {i}")) for i in range(3)]
        futures.append(recorder.append_samples([rollup(0), rollup(10), rollup(20)]))
        until(lambda: recorder.stalled_for >= STALL_S)
        assert recorder.pending == 4
        assert not any(f.done() for f in futures)
        # Kept beside the session while the lock is held, so a crash now loses nothing.
        kept = pending.pending_path(store.path)
        until(kept.exists)
        assert len(pending.parse(kept.read_bytes())) == 6
        holder.release()
        for future in futures:
            future.result(timeout=10)
    assert texts(store.path) == [f"while locked {i}" for i in range(3)]
    assert [r.at for r in load(store.path).incident.samples] == [rollup(s).at for s in (0, 10, 20)]
    assert not pending_path_exists(store.path)
    assert recorder.pending == 0
    recorder.close()


def pending_path_exists(path: Path) -> bool:
    return any(p.name.startswith(path.name + ".pending-") for p in path.parent.iterdir())


def test_close_while_locked_leaves_the_writes_for_the_next_writer_exactly_once(
    store: Store, spawn
) -> None:
    # The dashboard is a child process; it quits (close) while the lock is still held.
    code = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from warroom.sessions.model import TimelineEntry\n"
        "from warroom.sessions.recorder import Recorder\n"
        "from warroom.sessions.store import Store\n"
        "r = Recorder(Store.open(Path(sys.argv[1])))\n"
        "print('open', flush=True)\n"
        "sys.stdin.readline()\n"  # the test takes the lock now
        "for i in range(5):\n"
        "    r.append_entry(TimelineEntry(at=datetime.now(UTC), text=f'queued {i}'))\n"
        "print('left', r.close(timeout=1.5), flush=True)\n"
    )
    child = spawn(code, str(store.path), stdin=True)
    assert child.stdout.readline().strip() == "open"
    with LockHolder(store.path):
        out, _ = child.communicate("\n", timeout=30)
        assert out.strip() == "left 5"
        assert texts(store.path) == []
    # The next writer adds them; a second open adds nothing more.
    Store.open(store.path)
    Store.open(store.path)
    assert texts(store.path) == [f"queued {i}" for i in range(5)]
    assert not pending_path_exists(store.path)


def test_sigkill_while_writes_wait_for_the_lock_loses_nothing(store: Store, spawn) -> None:
    code = (
        "import sys, time\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from warroom.sessions.model import SampleRollup, TimelineEntry\n"
        "from warroom.sessions.recorder import Recorder\n"
        "from warroom.sessions.store import Store\n"
        "r = Recorder(Store.open(Path(sys.argv[1])))\n"
        "r.append_entry(TimelineEntry(at=datetime.now(UTC), text='acknowledged')).result()\n"
        "print('acked', flush=True)\n"
        "sys.stdin.readline()\n"  # the test takes the lock now
        "r.append_entry(TimelineEntry(at=datetime.now(UTC), text='queued'))\n"
        "r.append_samples([SampleRollup(at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC), samples=3)])\n"
        "print('queued', flush=True)\n"
        "time.sleep(600)\n"
    )
    child = spawn(code, str(store.path), stdin=True)
    assert child.stdout.readline().strip() == "acked"
    with LockHolder(store.path):
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "queued"
        kept = pending.pending_path(store.path, child.pid)
        until(lambda: kept.exists() and len(pending.parse(kept.read_bytes())) == 2)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert texts(store.path) == ["acknowledged"]
    reopened = Store.open(store.path)
    assert [e.text for e in reopened.incident.timeline] == ["acknowledged", "queued"]
    assert len(reopened.incident.samples) == 1
    assert reopened.pending_added == 2


def test_other_writers_appends_are_picked_up_off_the_caller_thread(store: Store) -> None:
    changed: list[int] = []
    recorder = Recorder(store, on_change=lambda: changed.append(1))
    other = Store.open(store.path)
    other.append_entry(TimelineEntry(at=T0, text="from the CLI", source=Source.CLI))
    until(lambda: any(e.text == "from the CLI" for e in store.incident.timeline))
    assert changed
    recorder.close()


def test_a_quiet_record_is_looked_at_less_often_and_others_notes_still_arrive(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import warroom.sessions.recorder as recorder_module

    monkeypatch.setattr(recorder_module, "QUIET_S", 0.3)  # 30 s in real life
    looks: list[float] = []
    real_refresh = store.refresh

    def counted() -> list[TimelineEntry]:
        looks.append(time.monotonic())
        return real_refresh()

    monkeypatch.setattr(store, "refresh", counted)
    recorder = Recorder(store)
    until(lambda: looks and looks[-1] - looks[0] > 0.3)  # past the quiet time
    start = time.monotonic()
    while time.monotonic() - start < 2.6:
        time.sleep(0.05)
    seen = [at for at in looks if start <= at <= start + 2.6]
    # Every 0.9 s while nobody else writes (it was every 0.5 s: five or six looks here).
    assert 1 <= len(seen) <= 3
    Store.open(store.path).append_entry(TimelineEntry(at=T0, text="from the CLI",
                                                      source=Source.CLI))  # fmt: skip
    until(lambda: any(e.text == "from the CLI" for e in store.incident.timeline))
    recorder.close()


def test_a_note_just_before_a_rollup_is_reported_as_a_change(store: Store) -> None:
    # The rollup's write takes the other writer's note in; the change counter must say so,
    # or the screen (which compares it) would never show the note.
    seen = store.changes
    Store.open(store.path).append_entry(TimelineEntry(at=T0, text="just before", source=Source.CLI))
    store.append_samples([rollup(0)])
    assert store.changes > seen + 1
    assert [e.text for e in store.incident.timeline] == ["just before"]


def test_a_failed_open_fails_every_write(tmp_path: Path) -> None:
    def broken() -> Store:
        raise SessionError("no such session file: x")

    recorder = Recorder(broken)
    with pytest.raises(SessionError):
        recorder.append_entry(note("x")).result(timeout=10)
    assert "no such session" in (recorder.error or "")
