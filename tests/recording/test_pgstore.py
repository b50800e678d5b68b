"""The recorder's store in an ops PostgreSQL (real clusters): two recorders at once, seeks and
the lead-up read from it as from a file, retention by whole day partitions, the ops database
down and back, and a password in the --store DSN kept out of every output and file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from support.pgcluster import APP_ROLE, PASSWORD_ROLE
from support.polling import wait_until

from recording.recorder_process import monitor_dsn, recording
from recording.test_store import churn, row
from warroom.recording.frame import Frame
from warroom.recording.leadup import lead_up_from
from warroom.recording.pgstore import PgFrameStore
from warroom.recording.retention import Retention
from warroom.recording.store import FrameStore
from warroom.recording.store_api import open_store

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def frames_of(ops_dsn: str, server: str | None = None) -> int:
    """Frames kept in the ops database (of ``server``); 0 before the schema exists."""
    with psycopg.connect(ops_dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('warroom.recorder_frames')").fetchone()[0] is None:
            return 0
        sql = ("SELECT count(*) FROM warroom.recorder_frames f JOIN warroom.recorder_servers s"
               " ON s.id = f.server WHERE %s::text IS NULL OR s.name = %s")  # fmt: skip
        return int(conn.execute(sql, (server, server)).fetchone()[0])


def test_a_seek_and_a_walk_read_the_same_as_from_a_file(pg_factory, tmp_path: Path) -> None:
    ops = pg_factory()
    clock = lambda: (T0 + timedelta(hours=1)).timestamp()  # noqa: E731
    with PgFrameStore(ops.dsn(), clock=clock, key_every=10) as pgs, \
            FrameStore(tmp_path / "r.sqlite", clock=clock, key_every=10) as file:  # fmt: skip
        # Across midnight: the new day's partition starts with its own keyframe.
        start = T0.replace(hour=23, minute=59)
        truth = churn(pgs, 130, start=start)
        churn(file, 130, start=start)
        for n in range(130):
            at = start + timedelta(seconds=n, milliseconds=400)
            got, want = pgs.state_at("db1", at), file.state_at("db1", at)
            assert got is not None and want is not None and got.figures == {"n": n}
            assert got == want, f"second {n}"
            assert (None if got.backends is None else frozenset(got.backends)) == truth[n]
        assert pgs.state_at("db1", start - timedelta(seconds=1)) is None
        assert pgs.state_at("db2", start) is None
        since, until = start + timedelta(seconds=33), start + timedelta(seconds=100)
        assert list(pgs.frames("db1", since, until)) == list(file.frames("db1", since, until))
        assert pgs.span("db1") == file.span("db1")
        days = [day for day, _, _ in pgs.partitions()]
        assert days == [T0.date(), T0.date() + timedelta(days=1)]
        # `warroom frames` from the ops database: a file that opens anywhere.
        with FrameStore(tmp_path / "copy.sqlite") as copy:
            assert pgs.export(copy, "db1", since, until) > 0
            frame = copy.state_at("db1", start + timedelta(seconds=80))
            assert frame is not None and frozenset(frame.backends or ()) == truth[80]


def test_two_recorders_write_one_ops_database_at_once_and_any_host_reads_them(
    pg_factory, tmp_path: Path
) -> None:
    ops, first, second = pg_factory(), pg_factory(), pg_factory()
    store = ops.dsn()
    held = {}
    for cluster, app in ((first, "orders-api"), (second, "billing-worker")):
        conn = psycopg.connect(cluster.dsn(user=APP_ROLE, application_name=app), autocommit=True)
        conn.execute(f"SELECT 1 /* {app} */")
        held[app] = conn
    args = ["--store", store, "--interval", "0.3"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        with recording(["--dsn", monitor_dsn(first), *args], tmp_path / "a") as a, \
                recording(["--dsn", monitor_dsn(second), *args], tmp_path / "b") as b:  # fmt: skip
            names = {f"127.0.0.1:{first.port}": "orders-api",
                     f"127.0.0.1:{second.port}": "billing-worker"}  # fmt: skip
            for name in names:
                wait_until(lambda n=name: frames_of(store, n) >= 5, 60, f"frames of {name}")
            # Rollups close every 10 s: the lead-up of an incident opened now reads them.
            wait_until(lambda: all(lead_up_from(store, n, datetime.now(UTC)) for n in names),
                       60, "a rollup of each server")  # fmt: skip
            assert a.stop() == 0 and b.stop() == 0
        assert not [line for line in a.lines + b.lines if "cannot" in line or "Error" in line]
        with open_store(store, readonly=True) as reader:  # any host, read-only
            assert sorted(reader.servers()) == sorted(names)
            for name, app in names.items():
                span = reader.span(name)
                assert span is not None
                frame = reader.state_at(name, span[1])
                assert frame is not None and frame.status == "up" and frame.backends
                apps = {r.application: r.query for r in frame.backends}
                assert apps.get(app) == f"SELECT 1 /* {app} */"
                assert set(apps).isdisjoint(set(names.values()) - {app})  # no mix-up
                rollups = lead_up_from(store, name, span[1] + timedelta(seconds=1))
                assert rollups and all(r.source == "recorder" for r in rollups)
                assert any(n == app for r in rollups for n, _ in r.top_apps)
        today = datetime.now(UTC).date()
        with PgFrameStore(store, readonly=True) as reader:
            days = [day for day, _, _ in reader.partitions()]
        assert today in days and today + timedelta(days=1) in days  # made ahead
    finally:
        for conn in held.values():
            conn.close()


def test_retention_drops_whole_day_partitions_by_age_and_by_size(pg_factory) -> None:
    ops = pg_factory()
    now = [T0.timestamp()]
    with PgFrameStore(ops.dsn(), clock=lambda: now[0],
                      retention=Retention(30 * 3600.0, 2**40)) as store:  # fmt: skip
        rows = tuple(row(pid, query="SELECT pg_sleep(1) -- " + "x" * 500) for pid in range(50))
        for day in range(3):  # frames dated the 24th, 25th and 26th at 09:00-09:02
            for n in range(120):
                at = T0 + timedelta(days=day, seconds=n)
                store.append(Frame("db1", at, "up", {"day": day}, rows))
            store.add_rollup("db1", T0 + timedelta(days=day), '[[samples]]\nat = "x"\n')
        assert [d.day for d, _, _ in store.partitions()] == [24, 25, 26]
        now[0] = (T0 + timedelta(days=2, hours=12)).timestamp()  # the 26th, 21:00
        store.enforce()  # keep 30 h: back to the 25th 15:00; the 24th ended before: dropped
        assert [d.day for d, _, _ in store.partitions()] == [25, 26, 27]
        assert store.state_at("db1", T0 + timedelta(seconds=60)) is None
        kept = store.state_at("db1", T0 + timedelta(days=1, seconds=60))
        assert kept is not None and kept.backends == rows  # its keyframe was in its own day
        assert [at for at, _ in store.rollups("db1", T0, T0 + timedelta(days=3))] == [
            (T0 + timedelta(days=d)).timestamp() for d in (1, 2)]  # fmt: skip
        # By size: the oldest days go until under the limit; the clock's day stays.
        store.retention = Retention(30 * 3600.0, 1)
        store.enforce()
        assert [d.day for d, _, _ in store.partitions()] == [26, 27]
        frame = store.state_at("db1", T0 + timedelta(days=2, seconds=119))
        assert frame is not None and frame.figures == {"day": 2}


def test_the_ops_database_down_is_one_line_and_recording_resumes(
    pg, pg_factory, tmp_path: Path
) -> None:
    ops = pg_factory()
    store = ops.dsn()
    with recording(["--dsn", monitor_dsn(pg), "--store", store, "--interval", "0.3"],
                   tmp_path) as rec:  # fmt: skip
        wait_until(lambda: frames_of(store) >= 3, 60, "3 frames")
        ops.stop()
        rec.wait_line("cannot write the store postgresql")
        ops.start()
        resumed = rec.wait_line("recording resumed", 60)
        before = frames_of(store)
        wait_until(lambda: frames_of(store) >= before + 3, 60, "3 frames after the outage")
        assert rec.stop() == 0
    assert len(rec.saying("cannot write the store")) == 1  # one line for the whole outage
    dropped = int(resumed.split("(")[1].split()[0])
    assert dropped >= 1  # the frames taken while it was down, counted
    with open_store(store, readonly=True) as reader:
        (server,) = reader.servers()
        span = reader.span(server)
        assert span is not None
        last = reader.state_at(server, span[1])
        assert last is not None and last.backends is not None  # a keyframe after the gap


def test_a_password_in_the_store_dsn_is_in_no_output_and_no_file(
    pg, pg_factory, tmp_path: Path
) -> None:
    ops = pg_factory()
    with ops.connect() as conn:
        conn.execute(f"GRANT CREATE ON DATABASE postgres TO {PASSWORD_ROLE}")
    secret = ops.password
    store = ops.dsn(user=PASSWORD_ROLE, password=secret)
    outputs: list[str] = []
    with recording(["--dsn", monitor_dsn(pg), "--store", store, "--interval", "0.3"],
                   tmp_path) as rec:  # fmt: skip
        wait_until(lambda: frames_of(ops.dsn()) >= 3, 60, "3 frames")
        ops.stop()  # the outage's line names the database
        rec.wait_line("cannot write the store")
        ops.start()
        rec.wait_line("recording resumed", 60)
        assert rec.stop() == 0
        outputs += [*rec.lines, rec.proc.stdout.read() if rec.proc.stdout else ""]
    wrong = ops.dsn(user=PASSWORD_ROLE, password=secret[::-1])
    env_home = tmp_path / "other"
    env_home.mkdir()
    for args, ends in ((["--store", store, "--unit"], True),
                       (["--store", wrong], False),  # refused by the server: logged, going on
                       (["--store", store + " options='x"], True),  # libpq cannot read it
                       (["--dsn", ops.dsn(), "--store", store], True)):  # the watched server
        args = ["--dsn", monitor_dsn(pg), *args] if args[0] != "--dsn" else args
        with recording(args, env_home) as other:
            if ends:
                other.proc.wait(timeout=30)
            else:
                other.wait_line("cannot write the store")
            other.stop()
            outputs += [*other.lines, other.proc.stdout.read() if other.proc.stdout else ""]
    text = "\n".join(outputs)
    assert "--store names a server being recorded" in text
    assert f"port={ops.port}" in text or f"127.0.0.1:{ops.port}" in text  # --unit names it
    assert "unclosed quote" in text
    assert secret not in text and secret[::-1] not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_a_store_dsn_naming_the_watched_database_is_refused(pg, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    env = {**os.environ, "WARROOM_CONFIG": str(tmp_path / "config.toml"),
           "XDG_STATE_HOME": str(tmp_path)}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "warroom", "record", "--dsn", monitor_dsn(pg),
         "--store", f"postgresql://localhost:{pg.port}/postgres", "--frames", "1"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == [
        f"warroom: error: --store names a server being recorded (localhost:{pg.port}/postgres);"
        " keep frames in a separate ops PostgreSQL (or a file)"
    ]
    assert not list(tmp_path.rglob("*.sqlite"))


def test_replay_reads_the_backends_and_the_history_from_the_ops_database(pg_factory) -> None:
    from warroom.recording.browse import FrameReader, open_history
    from warroom.recording.store import StoreError

    ops = pg_factory()
    with ops.connect() as conn:
        conn.execute(f"GRANT CREATE ON DATABASE postgres TO {PASSWORD_ROLE}")
    store = ops.dsn(user=PASSWORD_ROLE, password=ops.password)
    clock = lambda: (T0 + timedelta(hours=1)).timestamp()  # noqa: E731
    with PgFrameStore(store, key_every=10, clock=clock) as writer:
        truth = churn(writer, 60, server="db1:5432", start=T0)
        writer.add_rollup("db1:5432", T0, '[[samples]]\nat = "2026-11-24T09:00:00Z"\n')
    reader = FrameReader(store)
    moment = reader.moment("db1:5432", T0 + timedelta(seconds=42, milliseconds=500))
    assert moment.frame is not None and frozenset(moment.frame.backends or ()) == truth[42]
    history = open_history(store, None)
    assert history.server == "db1:5432"
    assert (history.first, history.last) == (T0, T0 + timedelta(seconds=59))
    ops.stop()  # the ops database gone: replay's view says so, without the password
    try:
        reader.moment("db1:5432", T0)
    except StoreError as exc:
        assert "cannot reach" in str(exc) and ops.password not in str(exc)
    else:
        raise AssertionError("read a stopped database")


def test_a_store_dsn_libpq_cannot_read_is_one_line_without_its_text(tmp_path: Path) -> None:
    bad = "host=ops.example user=recorder password=S3cretPw options='-c x"
    (tmp_path / "config.toml").write_text(f'[record]\nstore = "{bad}"\n')
    env = {**os.environ, "WARROOM_CONFIG": str(tmp_path / "config.toml"),
           "XDG_STATE_HOME": str(tmp_path)}  # fmt: skip
    command = [sys.executable, "-m", "warroom", "record", "--dsn", "host=db1.example"]
    for extra, where in ((["--store", bad], "argument --store"), ([], "record.store")):
        out = subprocess.run([*command, *extra, "--frames", "1"], capture_output=True,
                             text=True, timeout=60, env=env)  # fmt: skip
        assert out.returncode != 0 and out.stdout == ""
        (line,) = out.stderr.strip().splitlines()
        assert line.startswith("warroom: error: ") and where in line and "unclosed quote" in line
        assert "S3cretPw" not in line and "ops.example" not in line
    assert not list(tmp_path.rglob("*.sqlite"))
