"""`warroom frames`: an incident's frames saved beside it, readable on their own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from support.pgcluster import APP_ROLE
from support.polling import wait_until

from recording.recorder_process import frame_count, monitor_dsn, recording
from warroom.drill.sandbox import clean_env
from warroom.recording.store import FrameStore
from warroom.sessions.model import Incident, Target
from warroom.sessions.store import Store


def frames_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WARROOM_CONFIG=str(home / "config.toml"))
    env.pop("WARROOM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "warroom", "frames", *args], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def session(path: Path, dsn: str, started: datetime) -> Path:
    incident = Incident.create("orders pool leaking", started)
    incident.target = Target(dsn=dsn)
    Store.create(path, incident)
    return path


def test_frames_of_an_incident_are_saved_beside_it_and_open_elsewhere(pg, tmp_path: Path) -> None:
    store = tmp_path / "rec.sqlite"
    dsn = monitor_dsn(pg)
    with psycopg.connect(pg.dsn(user=APP_ROLE, application_name="leaky")) as held:
        held.execute("SELECT 'left open by the pool'")
        args = ["--dsn", dsn, "--store", str(store), "--interval", "0.2"]
        with recording(args, tmp_path) as rec:
            wait_until(lambda: frame_count(store) >= 5, 30, "5 frames")
            assert rec.stop() == 0
        pid = held.info.backend_pid
    path = session(tmp_path / "20261204-0900-orders.toml", dsn, datetime.now(UTC))
    before = store.read_bytes()
    done = frames_cli(str(path), "--store", str(store), "--lead", "5m", home=tmp_path)
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "20261204-0900-orders.frames.sqlite"
    assert done.stdout.startswith(f"{saved}: ") and "frames" in done.stdout
    assert store.read_bytes() == before
    elsewhere = tmp_path / "other-host" / saved.name  # copied away from the recorder's store
    elsewhere.parent.mkdir()
    shutil.copy(saved, elsewhere)
    with FrameStore(elsewhere, readonly=True) as copy:
        (server,) = copy.servers()
        first, last = copy.span(server) or (None, None)
        assert first is not None and last is not None
        frames = list(copy.frames(server, first, last))
    assert len(frames) == frame_count(store)
    for frame in frames:
        rows = {b.pid: b for b in frame.backends or ()}
        assert rows[pid].query == "SELECT 'left open by the pool'"
        assert rows[pid].state == "idle in transaction"


def test_frames_refuses_what_it_cannot_save_in_one_line(pg, tmp_path: Path) -> None:
    path = session(tmp_path / "s.toml", "host=db9.example port=5432", datetime.now(UTC))
    missing = frames_cli(str(path), "--store", str(tmp_path / "none.sqlite"), home=tmp_path)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("warroom: error: ")
    assert "no such recorder store" in missing.stderr
    store = tmp_path / "rec.sqlite"
    with recording(["--dsn", monitor_dsn(pg), "--store", str(store), "--frames", "2"],
                   tmp_path) as rec:  # fmt: skip
        assert rec.proc.wait(timeout=60) == 0
    other = frames_cli(str(path), "--store", str(store), home=tmp_path)
    assert other.returncode == 1 and "no frames of db9.example:5432" in other.stderr
    assert not [p.name for p in tmp_path.iterdir() if "s.frames" in p.name]  # nor a partial


def test_a_frames_backends_are_who_its_counts_are_while_clients_come_and_go(
    pg, tmp_path: Path
) -> None:
    """pgbench -C opens a new connection for every transaction: the backends come and go
    between any two reads of pg_stat_activity. A frame's list and its counts come from one."""
    from warroom.collectors.alerts import AlertConfig
    from warroom.collectors.findings import FindingsConfig
    from warroom.collectors.headless import ServerLines
    from warroom.collectors.postgres import PostgresCollector
    from warroom.recording.sampler import ServerFrames

    exe = pg.bin_dir / "pgbench"
    script = tmp_path / "one.sql"
    script.write_text("SELECT pg_sleep(0.002);\n")
    env = dict(clean_env(), PGAPPNAME="churner")
    churn = subprocess.Popen([str(exe), "-n", "-C", "-c", "6", "-T", "600", "-f", str(script),
                              "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                              "postgres"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    dsn = monitor_dsn(pg)
    col = PostgresCollector(dsn, interval=1.0, probe_every=0)
    lines = ServerLines(col, None, None, FindingsConfig(), dsn=dsn)
    frames = ServerFrames(lines, "db1", AlertConfig())
    try:
        wait_until(lambda: pg.backend_pids("churner"), 30, "pgbench's clients")
        taken = [frames.sample().frame for _ in range(40)]
    finally:
        churn.terminate()
        churn.wait(timeout=30)
        lines.close_side()
        col.close()
        # The cluster is the run's: the next test here counts its backends.
        wait_until(lambda: not pg.backend_pids("churner"), 30, "pgbench's backends gone")
    assert all(f.status == "up" for f in taken)
    for frame in taken:
        listed = frame.backends or ()
        conns = frame.figures["connections"]
        assert len(listed) == conns["total"]
        by_app = Counter(b.application for b in listed)
        assert {c["name"]: c["count"] for c in conns["by_application"]} == {
            c["name"]: by_app[c["name"]] for c in conns["by_application"]
        }
    # The churn was seen: some frames caught pgbench's clients, and not always the same ones.
    churners = [frozenset(b.pid for b in f.backends or () if b.application == "churner")
                for f in taken]  # fmt: skip
    assert any(churners) and len(set(churners)) > 1


def test_a_frame_too_slow_for_the_statement_timeout_keeps_its_counts_and_lists_again_later(
    pg, monkeypatch
) -> None:
    """Past some tens of thousands of backends the list takes longer than the statement
    timeout, and the server cancels the frame: its counts must not go with it (a down frame
    would raise "unreachable"). The frame's SQL is slowed here while a table has a row."""
    from warroom.collectors import pg_queries, postgres
    from warroom.collectors.alerts import AlertConfig
    from warroom.collectors.findings import FindingsConfig
    from warroom.collectors.headless import ServerLines
    from warroom.recording.sampler import ServerFrames

    real = pg_queries.sample_sql

    def slowed(version: int, *, with_backends: bool = False) -> str:
        sql = real(version, with_backends=with_backends)
        if with_backends:  # as slow as a list of too many backends, while nap has a row
            nap = "  'nap', (SELECT count(pg_sleep(5)) FROM nap),\n"
            sql = sql.replace("  'took',", nap + "  'took',")
        return sql

    monkeypatch.setattr(pg_queries, "sample_sql", slowed)
    # Long enough that the next frame surely falls in it, short enough to see the list return.
    monkeypatch.setattr(postgres, "FRAMES_PAUSE_S", 3.0)
    admin = psycopg.connect(pg.dsn(), autocommit=True)
    admin.execute("CREATE TABLE nap (x int)")
    admin.execute("GRANT SELECT ON nap TO PUBLIC")
    dsn = monitor_dsn(pg)
    # A budget of 4 s: the statement timeout cancels the frame at 2.4 s, and the counts asked
    # alone after it have 1.6 s, whatever a loaded machine adds to the cancel's way back.
    col = postgres.PostgresCollector(dsn, interval=5.0, probe_every=0)
    lines = ServerLines(col, None, None, FindingsConfig(), dsn=dsn)
    frames = ServerFrames(lines, "db1", AlertConfig())
    try:
        with psycopg.connect(pg.dsn(user=APP_ROLE, application_name="leaky")) as held:
            assert frames.sample().frame.backends is not None
            admin.execute("INSERT INTO nap VALUES (1)")
            cancelled = frames.sample()  # the frame is cancelled; the counts are asked alone
            paused = frames.sample()  # within the pause: the counts alone, no time lost
            for sampled in (cancelled, paused):
                frame = sampled.frame
                assert frame.status == "up" and frame.backends is None
                by_app = frame.figures["connections"]["by_application"]
                assert {c["name"]: c["count"] for c in by_app}["leaky"] == 1
                assert not any("unreachable" in line for line in sampled.log)
            admin.execute("DELETE FROM nap")
            again = wait_until(lambda: frames.sample().frame.backends, 20, "the list again")
            assert held.info.backend_pid in {b.pid for b in again}
    finally:
        lines.close_side()
        col.close()
        admin.execute("DROP TABLE nap")
        admin.close()
