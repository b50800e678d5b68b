"""The store on its own (real SQLite files): seeks rebuild every backend, retention holds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.recording.frame import BackendRow, Frame, cut_query
from warroom.recording.retention import Retention
from warroom.recording.store import FrameStore, StoreError

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def opened(path: Path, **kwargs: object) -> FrameStore:
    """A store whose clock stands an hour after T0 (unless the test brings its own)."""
    kwargs.setdefault("clock", lambda: (T0 + timedelta(hours=1)).timestamp())
    return FrameStore(path, **kwargs)  # type: ignore[arg-type]


def row(pid: int, state: str = "idle", query: str = "SELECT 1", start: float = 100.0) -> BackendRow:
    return BackendRow(pid, start + pid, "orders", "checkout", "app", "10.0.0.7", 5000 + pid,
                      state, "", "", None, None, (), query)  # fmt: skip


def churn(store: FrameStore, seconds: int, backends: int = 40, server: str = "db1",
          seed: int = 1, start: datetime = T0) -> dict[int, frozenset[BackendRow] | None]:
    """``seconds`` frames where half the backends change each second, some leave, some come;
    what each frame held."""
    rng = random.Random(seed)
    rows = {pid: row(pid) for pid in range(backends)}
    truth: dict[int, frozenset[BackendRow] | None] = {}
    for n in range(seconds):
        for pid in rng.sample(sorted(rows), len(rows) // 2):
            rows[pid] = row(pid, rng.choice(["active", "idle", "idle in transaction"]),
                            f"UPDATE accounts SET n = {n} WHERE id = {pid}")  # fmt: skip
        if n % 7 == 3:
            gone = rng.choice(sorted(rows))
            del rows[gone]
            rows[gone] = row(gone, "active", start=100.0 + n)  # the pid reused by a new backend
        down = n % 50 == 49
        backends_now = None if down else tuple(rows.values())
        store.append(Frame(server, start + timedelta(seconds=n), "down" if down else "up",
                           {"n": n}, backends_now))  # fmt: skip
        truth[n] = None if backends_now is None else frozenset(backends_now)
    return truth


def test_a_seek_rebuilds_every_backend_at_any_moment(tmp_path: Path) -> None:
    with opened(tmp_path / "r.sqlite", key_every=10) as store:
        truth = churn(store, 130)
        for n in range(130):
            frame = store.state_at("db1", T0 + timedelta(seconds=n, milliseconds=400))
            assert frame is not None and frame.figures == {"n": n}
            got = None if frame.backends is None else frozenset(frame.backends)
            assert got == truth[n], f"second {n}"
        assert store.state_at("db1", T0 - timedelta(seconds=1)) is None
        assert store.state_at("db2", T0) is None
        walked = list(store.frames("db1", T0 + timedelta(seconds=33), T0 + timedelta(seconds=80)))
        assert [f.figures["n"] for f in walked] == list(range(33, 81))
        for f in walked:
            assert (None if f.backends is None else frozenset(f.backends)) == truth[f.figures["n"]]


def test_an_unchanged_backend_costs_nothing_in_a_delta(tmp_path: Path) -> None:
    with opened(tmp_path / "r.sqlite", key_every=1000) as store:
        rows = tuple(row(pid, query="SELECT pg_sleep(3600) -- " + "x" * 900) for pid in range(200))
        for n in range(50):
            store.append(Frame("db1", T0 + timedelta(seconds=n), "up", {}, rows))
        sizes = [len(b) for (b,) in store._db.execute("SELECT backends FROM frames ORDER BY id")]
    assert sizes[0] > 2000  # the keyframe holds every row
    assert max(sizes[1:]) <= 32  # an idle second: an empty delta


def test_a_restarted_writer_starts_with_a_keyframe(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with opened(path) as store:
        churn(store, 5)
    with opened(path) as store:
        store.append(Frame("db1", T0 + timedelta(seconds=10), "up", {}, (row(1),)))
        frame = store.state_at("db1", T0 + timedelta(seconds=10))
    assert frame is not None and frame.backends == (row(1),)


def test_retention_by_age_follows_the_clock(tmp_path: Path) -> None:
    now = [T0.timestamp()]
    path = tmp_path / "r.sqlite"
    with FrameStore(path, retention=Retention(max_age_s=60), clock=lambda: now[0],
                    key_every=10) as store:  # fmt: skip
        truth = churn(store, 300)
        now[0] = (T0 + timedelta(seconds=300)).timestamp()
        store.enforce()
        first, last = store.span("db1") or (None, None)
        assert first is not None and last == T0 + timedelta(seconds=299)
        # Kept: the last 60 s, from the keyframe at or before the cutoff (at most 10 s more).
        assert T0 + timedelta(seconds=230) <= first <= T0 + timedelta(seconds=240)
        at = T0 + timedelta(seconds=241)
        frame = store.state_at("db1", at)
        assert frame is not None and frozenset(frame.backends or ()) == truth[241]


def test_retention_by_size_keeps_the_newest_under_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    limit = 1024**2
    with opened(path, retention=Retention(max_bytes=limit), key_every=30) as store:
        truth = churn(store, 1500, backends=200)  # several MiB written
        store.enforce()
        assert store.used_bytes() <= limit
        first, last = store.span("db1") or (None, None)
        assert last == T0 + timedelta(seconds=1499)
        assert first is not None and first > T0 + timedelta(seconds=60)
        assert truth[1499] is None  # the server was down then: recorded as such
        frame = store.state_at("db1", last - timedelta(seconds=1))
        assert frame is not None and frozenset(frame.backends or ()) == truth[1498]
    assert path.stat().st_size <= limit * 1.1  # freed pages went back to the disk


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "notes.sqlite"
    other.write_text("these are my notes\n")
    with pytest.raises(StoreError, match="not a recorder store"):
        FrameStore(other)
    assert other.read_text() == "these are my notes\n"


def test_a_query_is_one_line_of_at_most_1_kb_never_half_a_character() -> None:
    text = "SELECT '\x1b[31mred\x1b[0m'\n  FROM t WHERE name = '" + "é" * 2000 + "'"
    cut = cut_query(text)
    assert len(cut.encode()) <= 1024 and "\x1b" not in cut and "\n" not in cut
    assert cut.startswith("SELECT 'red' FROM t WHERE name = 'éé")


def test_the_store_is_its_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "state" / "warroom" / "recorder.sqlite"
    with opened(path) as store:
        churn(store, 3)
        modes = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()}
    assert modes["recorder.sqlite"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes  # the WAL and its index too
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_rows_reused_across_seconds_are_the_rows_of_that_second() -> None:
    from warroom.collectors.backends import Backend
    from warroom.recording.frame import Rows, row_of

    start = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

    def backend(pid: int, state: str, query: str, age: float) -> Backend:
        return Backend(pid, "checkout", "app", "10.0.0.7", state, age, age, age, "", "", (),
                       query, backend_start=start, xact_start=start, query_start=start)  # fmt: skip

    rows = Rows()
    first = rows.of([backend(1, "idle", "SELECT 1", 5.0), backend(2, "active", "q", 5.0)], 1.0)
    # A second later: the ages moved on, one backend ran something else.
    later = [backend(1, "idle", "SELECT 1", 6.0), backend(2, "active", "UPDATE t", 6.0)]
    second = rows.of(later, 2.0)
    assert second == tuple(row_of(b, 2.0) for b in later)
    assert second[0] is first[0] and second[1] != first[1]
