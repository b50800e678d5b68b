"""`warroom record` against real servers: pgbench and a leaking pool, kill -9, a full disk,
a server that goes away, and what it refuses."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from support.pgcluster import APP_ROLE, PgCluster
from support.polling import wait_until

from recording.recorder_process import (
    frame_count,
    monitor_dsn,
    recording,
    samples_seen,
)
from warroom.drill.sandbox import clean_env
from warroom.recording.store import FrameStore

psycopg_pool = pytest.importorskip("psycopg_pool")

SATURATION_LOW = "[alerts.saturation]\nwarning = 40\ncritical = 99\nmargin = 5\n"


def latest(store: Path, server: str | None = None):  # type: ignore[no-untyped-def]
    with FrameStore(store, readonly=True) as s:
        name = server or s.servers()[0]
        return s.state_at(name, datetime.now(UTC))


def all_frames(store: Path) -> list:  # type: ignore[type-arg]
    with FrameStore(store, readonly=True) as s:
        name = s.servers()[0]
        first, last = s.span(name) or (None, None)
        assert first is not None and last is not None
        return list(s.frames(name, first, last))


@contextlib.contextmanager
def pgbench(cluster: PgCluster, clients: int = 3) -> Iterator[None]:
    exe = cluster.bin_dir / "pgbench"
    if not exe.exists():
        pytest.skip(f"no pgbench beside {cluster.bin_dir}")
    base = [str(exe), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    subprocess.run([*base, "-i", "-s", "1", "-q", "postgres"], env=clean_env(), check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    proc = subprocess.Popen([*base, "-c", str(clients), "-T", "600", "postgres"],
                            env=clean_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def leaking_pool(cluster: PgCluster, n: int) -> Iterator[list[int]]:
    """A psycopg_pool whose every connection is checked out, left idle in a transaction after
    its last query, and never given back (a leak); the pids it holds."""
    pool = psycopg_pool.ConnectionPool(cluster.dsn(user=APP_ROLE, application_name="leaky"),
                                       min_size=n, max_size=n, open=True)  # fmt: skip
    try:
        pool.wait(timeout=30)
        held = [pool.getconn() for _ in range(n)]
        for conn in held:
            conn.execute("SELECT 'leaked' AS marker")
        yield [conn.info.backend_pid for conn in held]
    finally:
        for conn in held:
            conn.rollback()
            pool.putconn(conn)
        pool.close()


def test_a_recording_keeps_the_backends_and_logs_alerts_as_they_raise_and_clear(
    pg_factory, tmp_path: Path
) -> None:
    cluster = pg_factory(max_connections=20)
    store = tmp_path / "rec.sqlite"
    args = ["--dsn", monitor_dsn(cluster), "--store", str(store), "--interval", "0.5"]
    with pgbench(cluster), recording(args, tmp_path, SATURATION_LOW) as rec:
        with leaking_pool(cluster, 8) as leaked:
            raised = rec.wait_line("alert warning raised")
            assert "saturation" in raised or "slots" in raised
            wait_until(lambda: (f := latest(store)) and f.backends and
                       set(leaked) <= {b.pid for b in f.backends}, 30, "the leaked backends")
        rec.wait_line("alert warning cleared")
        assert rec.stop() == 0
    frames = all_frames(store)
    assert all(f.status == "up" for f in frames)
    seen = {b.pid: b for f in frames for b in f.backends or ()}
    for pid in leaked:  # who held each slot, and doing what
        assert seen[pid].user == APP_ROLE and seen[pid].application == "leaky"
        assert seen[pid].state == "idle in transaction"
        assert seen[pid].query == "SELECT 'leaked' AS marker"
        assert seen[pid].backend_start is not None and seen[pid].xact_start is not None
    bench = [b for b in seen.values() if b.application == "pgbench"]
    assert bench and any("pgbench_" in b.query for b in bench)
    # Figures as `sample --json` prints them: connections counted by the server.
    assert max(f.figures["connections"]["total"] for f in frames) >= 8 + 3
    assert rec.saying("stopped after")


def test_kill_9_loses_at_most_the_frame_in_flight_and_a_restart_goes_on(
    pg, tmp_path: Path
) -> None:
    store = tmp_path / "rec.sqlite"
    args = ["--dsn", monitor_dsn(pg), "--store", str(store), "--interval", "0.2"]
    with psycopg.connect(pg.dsn(user=APP_ROLE, application_name="holder")) as held:
        held.execute("SELECT 'held across the crash'")
        with recording(args, tmp_path) as rec:
            wait_until(lambda: frame_count(store) >= 5, 30, "5 frames")
            rec.kill()
        before = all_frames(store)
        assert len(before) >= 5
        pid = held.info.backend_pid
        assert all(pid in {b.pid for b in f.backends or ()} for f in before)
        with recording([*args, "--frames", "3"], tmp_path) as rec:
            assert rec.proc.wait(timeout=60) == 0
        after = all_frames(store)
    assert len(after) >= len(before) + 3
    assert [f.at for f in after[: len(before)]] == [f.at for f in before]
    held_rows = [b for b in after[-1].backends or () if b.pid == pid]
    assert held_rows and held_rows[0].query == "SELECT 'held across the crash'"


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    from support.small_disk import small_tmpfs  # skips where mounting is not allowed

    with small_tmpfs(where):
        subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)
        yield where


def test_a_full_disk_is_one_line_and_recording_resumes_when_space_returns(
    pg, tmp_path: Path
) -> None:
    from support.small_disk import fill

    with tmpfs(tmp_path / "disk", "4m") as disk:
        store = disk / "rec.sqlite"
        args = ["--dsn", monitor_dsn(pg), "--store", str(store), "--interval", "0.2"]
        with recording(args, tmp_path) as rec:
            wait_until(lambda: frame_count(store) >= 3, 30, "3 frames")
            fill(disk / "ballast")
            rec.wait_line("cannot write the store")
            samples_seen(pg, 5)  # five more samples while the disk stays full
            (disk / "ballast").unlink()
            rec.wait_line("recording resumed")
            resumed_at = frame_count(store)
            wait_until(lambda: frame_count(store) >= resumed_at + 3, 30, "3 more frames")
            assert rec.stop() == 0
        assert len(rec.saying("cannot write the store")) == 1
        assert len(rec.saying("recording resumed")) == 1
        frames = all_frames(store)
    assert frames[-1].status == "up" and frames[-1].backends is not None


def test_a_server_that_goes_away_is_recorded_down_and_back(pg_factory, tmp_path: Path) -> None:
    cluster = pg_factory(max_connections=10)
    store = tmp_path / "rec.sqlite"
    args = ["--dsn", monitor_dsn(cluster), "--store", str(store), "--interval", "0.2"]
    with recording(args, tmp_path) as rec:
        wait_until(lambda: frame_count(store) >= 2, 30, "2 frames")
        cluster.stop("immediate")
        wait_until(lambda: (f := latest(store)) and f.status == "down", 30, "a down frame")
        down = latest(store)
        assert down.backends is None and down.figures["error"]["kind"]
        cluster.start()
        wait_until(lambda: (f := latest(store)) and f.status == "up", 60, "an up frame again")
        assert rec.proc.poll() is None
        assert rec.stop() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "0"], "--interval"),
        (["--retention-age", "forever"], "not a duration"),
        (["--retention-size", "12 apples"], "not a size"),
        (["--retention-size", "10kB"], "at least 1 MiB"),
        (["--target", "nowhere"], "no target named 'nowhere'"),
        (["--frames", "0"], "--frames must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with recording(["--store", str(tmp_path / "s.sqlite"), *args], tmp_path) as rec:
        code = rec.proc.wait(timeout=30)
        rec._reader.join(timeout=5)
    assert code in (1, 2)
    assert len(rec.lines) == 1 and rec.lines[0].startswith("warroom: error: ")
    assert message in rec.lines[0]
    assert not (tmp_path / "s.sqlite").exists()


def test_a_store_that_is_not_one_is_refused_and_left_alone(pg, tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("my notes\n")
    with recording(["--dsn", monitor_dsn(pg), "--store", str(other)], tmp_path) as rec:
        assert rec.proc.wait(timeout=30) == 1
        rec._reader.join(timeout=5)
    assert rec.lines == [f"warroom: error: {other}: not a recorder store "
                         "(file is not a database)"]  # fmt: skip
    assert other.read_text() == "my notes\n"


def test_a_bad_record_section_is_one_line(pg, tmp_path: Path) -> None:
    config = "[record]\nretention_age = 'soon'\n"
    with recording(["--dsn", monitor_dsn(pg)], tmp_path, config) as rec:
        assert rec.proc.wait(timeout=30) == 1
        rec._reader.join(timeout=5)
    assert len(rec.lines) == 1 and "record: retention: not a duration" in rec.lines[0]


def test_the_unit_carries_no_password(tmp_path: Path) -> None:
    dsn = "host=db1 port=5433 user=warroom password=s3cret-Pw dbname=orders"
    with recording(["--dsn", dsn, "--unit", "--interval", "2"], tmp_path) as rec:
        out, _ = rec.proc.communicate(timeout=30)
    assert rec.proc.returncode == 0
    assert "s3cret" not in out
    assert "User=warroom" in out and "Restart=on-failure" in out and "PGPASSFILE=" in out
    assert "Environment=WARROOM_CONFIG=/etc/warroom/config.toml" in out  # it has a config
    (start,) = [line for line in out.splitlines() if line.startswith("ExecStart=")]
    assert '"record" "--dsn" "' in start and "host=db1" in start and "port=5433" in start
    assert '"--interval" "2"' in start and "--store" not in start  # the service's state dir


@pytest.mark.parametrize("command", ["record", "frames"])
def test_help_has_an_example_and_the_top_level_lists_it(command: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "warroom", command, "--help"],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 0 and "example:" in done.stdout
    assert f"warroom {command}" in done.stdout
    top = subprocess.run([sys.executable, "-m", "warroom", "--help"], capture_output=True,
                         text=True, timeout=30)  # fmt: skip
    assert f"    {command} " in top.stdout
