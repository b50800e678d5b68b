"""Replay with the recorder's frames: the backends view at the cursor's moment (read-only), the
recorder's history with no incident (`replay --recorder`), and `n` starting an incident there.

One real recording serves every test: pgbench runs throughout; first a `checkout` session sits
idle in a transaction after a query with hostile text, then it ends and a `refunds` one does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from support.pgbouncer import BouncerUnavailable, PgBouncer
from support.pgcluster import APP_ROLE, PgCluster, cluster_factory, cluster_or_skip
from support.polling import wait_until
from textual.widgets import DataTable, Static

from recording.recorder_process import monitor_dsn, recording
from recording.test_record import pgbench
from warroom.collectors.dsn import server_name
from warroom.recording.browse import FrameReader, frames_for, moment_in, open_history
from warroom.recording.export import save_frames
from warroom.recording.frame import Frame
from warroom.recording.store import FrameStore, StoreError
from warroom.sessions.model import Incident, Target
from warroom.sessions.store import Store, load
from warroom.tui.app import WarroomApp
from warroom.tui.backends import BackendsScreen
from warroom.tui.backends_detail import BackendDetailScreen
from warroom.tui.session import history_session, replay_session
from warroom.widgets.bouncer import BouncerPane

# Escapes, Rich markup and a bidi override: shown as text, never obeyed.
HOSTILE = "SELECT 'phase one \x1b[31m[bold]red[/] \u202egnp.exe' AS checkout"
SECOND = "SELECT 'phase two: refunds' AS refunds"
WAITS = "UPDATE stock SET qty = 0 WHERE id = 1"


def latest(store: Path) -> Frame | None:
    try:
        s = FrameStore(store, readonly=True)
    except StoreError:
        return None
    with s:
        (server,) = s.servers() or (None,)
        span = s.span(server) if server else None
        return s.state_at(server, span[1]) if server and span else None


def rollups_kept(store: Path) -> int:
    try:
        s = FrameStore(store, readonly=True)
    except StoreError:
        return 0
    with s:
        return int(s._db.execute("SELECT count(*) FROM rollups").fetchone()[0])


def blocked_by(frame: Frame | None, pid: int) -> bool:
    rows = frame.backends or () if frame is not None else ()
    return any(b.application == "waiter" and pid in b.blocked_by for b in rows)


def holding(frame: Frame | None, pid: int, query: str) -> bool:
    rows = {b.pid: b for b in (frame.backends or ())} if frame is not None else {}
    return pid in rows and rows[pid].query == query and rows[pid].state == "idle in transaction"


@dataclass(frozen=True)
class Run:
    store: Path
    server: str
    dsn: str
    first_pid: int  # checkout's, idle in transaction at ``first``
    second_pid: int  # refunds', idle in transaction from ``switch`` on
    first: datetime  # a frame with checkout and no refunds
    switch: datetime  # the first frame with refunds
    last: datetime


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    # Its own cluster (pgbench fills its tables), stopped once the run is recorded.
    with cluster_factory(cluster_or_skip) as make:
        yield record_run(make(max_connections=20), tmp_path_factory)


def record_run(cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = tmp_path_factory.mktemp("recorder")
    store = home / "rec.sqlite"
    dsn = monitor_dsn(cluster)
    args = ["--dsn", dsn, "--store", str(store), "--interval", "0.5"]
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        admin.execute("CREATE TABLE stock (id int PRIMARY KEY, qty int)")
        admin.execute("INSERT INTO stock VALUES (1, 10)")
        admin.execute(f"GRANT ALL ON stock TO {APP_ROLE}")
    with pgbench(cluster, clients=2), recording(args, home) as rec:
        # checkout holds a row lock, idle in its transaction; `waiter` queues behind it.
        one = psycopg.connect(cluster.dsn(user=APP_ROLE, application_name="checkout"))
        one.execute("UPDATE stock SET qty = qty - 1 WHERE id = 1")
        one.execute(HOSTILE)
        first_pid = one.info.backend_pid
        waiter = psycopg.connect(cluster.dsn(user=APP_ROLE, application_name="waiter"),
                                 autocommit=True)  # fmt: skip
        queued = threading.Thread(target=waiter.execute, args=(WAITS,), daemon=True)
        queued.start()
        wait_until(lambda: holding(latest(store), first_pid, one_line_of(HOSTILE))
                   and blocked_by(latest(store), first_pid), 30,
                   "checkout idle in transaction, the waiter behind it, in a frame")  # fmt: skip
        frame = latest(store)
        assert frame is not None
        first = frame.at
        one.close()  # its transaction ends: the waiter's update goes through
        queued.join(timeout=30)
        waiter.close()
        two = psycopg.connect(cluster.dsn(user=APP_ROLE, application_name="refunds"))
        two.execute(SECOND)
        second_pid = two.info.backend_pid
        # Long enough for closed rollups (10 s each) and for a step of 10 s past ``first``.
        wait_until(lambda: (f := latest(store)) is not None and holding(f, second_pid, SECOND)
                   and f.at >= first + timedelta(seconds=14) and rollups_kept(store) >= 2,
                   60, "refunds recorded for a while")  # fmt: skip
        assert rec.stop() == 0
        two.close()
    with FrameStore(store, readonly=True) as s:
        (server,) = s.servers()
        span = s.span(server)
        assert span is not None
        frames = list(s.frames(server, span[0], span[1]))
    switch = next(f.at for f in frames if any(b.pid == second_pid for b in f.backends or ()))
    return Run(store, server, dsn, first_pid, second_pid, first, switch, span[1])


def one_line_of(text: str) -> str:
    from warroom.recording.frame import cut_query

    return cut_query(text)


def incident_file(run: Run, directory: Path) -> Path:
    """An incident on the recorded server, spanning the run, with its frames beside it."""
    incident = Incident.create("checkout stuck", run.first - timedelta(seconds=2),
                               target=Target(dsn=run.dsn))  # fmt: skip
    incident.resolved_at = run.last
    path = directory / "20261204-0900-checkout.toml"
    Store.create(path, incident)
    save_frames(path, run.store, 60.0)
    return path


async def open_backends(app: WarroomApp, pilot, pid: int) -> BackendsScreen:  # type: ignore[no-untyped-def]
    await pilot.press("b")
    screen = app.screen
    assert isinstance(screen, BackendsScreen)
    await wait_until_async(pilot, lambda: pid in {b.pid for b in screen.backends})
    return screen


async def wait_until_async(pilot, condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def status_text(screen: BackendsScreen) -> str:
    return str(screen.query_one("#status", Static).render())


def table_text(screen: BackendsScreen) -> str:
    table = screen.query_one(DataTable)
    return "\n".join(" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count))


@pytest.mark.asyncio
async def test_replay_shows_the_backends_at_the_cursor_and_follows_it(
    run: Run, tmp_path: Path
) -> None:
    path = incident_file(run, tmp_path)
    incident = load(path, lazy=True).incident
    frames = frames_for(path, incident, None)
    assert frames == path.with_name(path.stem + ".frames.sqlite")
    before = path.read_bytes()
    app = WarroomApp(replay_session(path, incident, at=run.first, frames=frames))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = await open_backends(app, pilot, run.first_pid)
        pids = {b.pid for b in screen.backends}
        assert run.second_pid not in pids
        assert any(b.application == "pgbench" for b in screen.backends)
        checkout = next(b for b in screen.backends if b.pid == run.first_pid)
        assert checkout.query == one_line_of(HOSTILE) and checkout.idle_in_transaction
        assert f"recorded at {run.first:%H:%M:%S}" in status_text(screen)
        # Idle in transaction: the mode lists checkout, with its query text in the table.
        await pilot.press("i")
        assert run.first_pid in {b.pid for b in screen.shown}
        assert all(b.idle_in_transaction for b in screen.shown)  # pgbench's, between statements
        assert "phase one" in table_text(screen)
        # Blocked chains: checkout first, the waiter it blocks after it.
        await pilot.press("k")
        assert [b.application for b in screen.shown][:2] == ["checkout", "waiter"]
        assert screen.shown[1].blocked_by == (run.first_pid,)
        assert "blocks" in str(screen.query_one("#detail", Static).render())
        # Read-only: nothing to signal, tag or explain; pressing the keys does nothing.
        shown = {b.binding.key for b in screen.active_bindings.values() if b.binding.show}
        assert not {"c", "x", "E", "exclamation_mark"} & shown and "slash" in shown
        for key in ("c", "x", "E", "exclamation_mark", "X"):
            await pilot.press(key)
            assert app.screen is screen, f"{key} opened {app.screen!r}"
        # The cursor moves underneath (→ is the replay's +10 s): the view follows it.
        await pilot.press("l", "right")
        await wait_until_async(pilot, lambda: run.second_pid in {b.pid for b in screen.backends})
        assert run.first_pid not in {b.pid for b in screen.backends}
        later = FrameReader(frames).moment(run.server, run.first + timedelta(seconds=10)).frame
        assert later is not None and f"recorded at {later.at:%H:%M:%S}" in status_text(screen)
        assert "phase two: refunds" in table_text(screen)
    assert path.read_bytes() == before  # a replay that looked changed nothing


@pytest.mark.asyncio
async def test_hostile_query_text_stays_inert_in_the_view_and_its_details(
    run: Run, tmp_path: Path
) -> None:
    path = incident_file(run, tmp_path)
    incident = load(path, lazy=True).incident
    app = WarroomApp(replay_session(path, incident, at=run.first,
                                    frames=frames_for(path, incident, None)))  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = await open_backends(app, pilot, run.first_pid)
        await pilot.press("slash", *"checkout", "enter")  # checkout alone, selected
        assert [b.pid for b in screen.shown] == [run.first_pid]
        assert "filter checkout" in status_text(screen)
        table = table_text(screen)
        detail = str(screen.query_one("#detail", Static).render())
        assert "[bold]red[/]" in detail  # markup shown as typed, not applied
        await pilot.press("enter")  # the details screen: the whole query
        await pilot.pause()
        assert isinstance(app.screen, BackendDetailScreen)
        whole = str(app.screen.query_one("#query", Static).render())
        assert "[bold]red[/]" in whole and "phase one" in whole
        locks = str(app.screen.query_one("#locks", Static).render())
        assert "not available" in locks  # a frame keeps who blocks whom, not pg_locks
    for shown in (detail, whole, table):
        assert "\x1b" not in shown and "\u202e" not in shown


@pytest.mark.asyncio
async def test_the_recorders_history_opens_at_the_moment_and_n_starts_an_incident_there(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARROOM_HOME", str(tmp_path / "incidents"))
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("")
    history = open_history(run.store, None)
    assert history.server == run.server
    store_bytes = run.store.read_bytes()
    at = run.last - timedelta(seconds=2)  # refunds held, checkout gone, rollups before it
    started: list[Path] = []
    app = WarroomApp(history_session(history, at=at, started=started))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.clock() == at
        assert "RECORDER" in str(app.query_one("#header").render())
        palette = " | ".join(c.title for c in app.get_system_commands(app.screen))
        assert "New incident (n)" in palette and "Note (n)" not in palette
        screen = await open_backends(app, pilot, run.second_pid)
        assert run.first_pid not in {b.pid for b in screen.backends}
        # Typed into the filter, `n` is a letter: no incident is started.
        await pilot.press("slash", "n", "enter")
        assert screen.filter_text == "n"
        assert not [w for w in app.workers if w.group == "new-incident"] and not started
        await pilot.press("escape")
        await pilot.press("n")
        await wait_until_async(pilot, lambda: started)
        assert any(str(started[0]) in n.message for n in app._notifications)
    (path,) = started
    assert path.parent == tmp_path / "incidents"
    record = load(path).incident
    assert record.started_at == at
    # The store knows the server as host:port: the incident watches that server, and its own
    # frames (`warroom frames`) are found under the same name.
    assert server_name(record.target.dsn) == run.server
    assert record.title.startswith("PostgreSQL incident on ")
    samples = record.samples
    assert samples, "the lead-up"
    assert all(s.source == "recorder" and s.end <= at for s in samples)
    assert run.store.read_bytes() == store_bytes  # browsing never writes the store


def test_a_replay_finds_the_frames_beside_it_else_in_this_hosts_store(
    run: Run, tmp_path: Path
) -> None:
    inside = Incident.create("during the run", run.first, target=Target(dsn=run.dsn))
    inside.resolved_at = run.last
    before = Incident.create("before the run", run.first - timedelta(days=1),
                             target=Target(dsn=run.dsn))  # fmt: skip
    before.resolved_at = run.first - timedelta(hours=23)
    elsewhere = Incident.create("another server", run.first, target=Target(dsn="host=db9 port=5"))
    path = tmp_path / "s.toml"  # no NAME.frames.sqlite beside it
    assert frames_for(path, inside, run.store) == run.store
    assert frames_for(path, before, run.store) is None
    assert frames_for(path, elsewhere, run.store) is None
    assert frames_for(path, inside, tmp_path / "no-store.sqlite") is None


def test_at_reads_a_clock_time_as_the_latest_such_moment_the_store_keeps(run: Run) -> None:
    history = open_history(run.store, run.server)
    assert moment_in(history, None) == run.last
    at = moment_in(history, f"{run.switch:%H:%M:%S}")
    assert at == max(run.switch.replace(microsecond=0), history.first)
    iso = run.first.isoformat()
    assert moment_in(history, iso) == run.first


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WARROOM_CONFIG=str(home / "config.toml"),
               XDG_STATE_HOME=str(home / "state"))  # fmt: skip
    env.pop("WARROOM_DEBUG", None)
    (home / "config.toml").write_text("")
    return subprocess.run([sys.executable, "-m", "warroom", "replay", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["x.toml", "--recorder"], 2, "not both"),
        ([], 2, "a session PATH (or --recorder"),
        (["x.toml", "--target", "primary"], 2, "--target is for --recorder"),
        (["--recorder", "--speed", "4"], 2, "--speed"),
        (["--recorder"], 1, "no such recorder store"),
        (["--recorder", "--store", "{store}", "--target", "nowhere:5432"], 1,
         "no frames of 'nowhere:5432' (kept: {server})"),
        (["--recorder", "--store", "{store}", "--at", "2001-01-01T00:00:00Z"], 1,
         "outside what the store keeps"),
        (["--recorder", "--store", "{store}", "--at", "25:99"], 1, "no such time"),
    ],
)
def test_bad_flags_are_one_line(
    run: Run, tmp_path: Path, args: list[str], code: int, says: str
) -> None:
    fill = {"store": str(run.store), "server": run.server}
    done = cli(*(a.format(**fill) for a in args), home=tmp_path)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("warroom: error: ") and done.stderr.count("\n") == 1
    assert says.format(**fill) in done.stderr
    assert done.stdout == ""


POOL = "app/postgres"  # the pooled database, served as the server's user (support/pgbouncer.py)


def pool_names(frame: Frame | None) -> set[str]:
    body = frame.figures.get("pgbouncer") if frame is not None else None
    if not isinstance(body, dict) or body.get("status") != "up":
        return set()
    return {f"{p['database']}/{p['user']}" for p in body.get("pools") or ()}


def shown_pools(app: WarroomApp) -> set[str] | None:
    view = app.query_one(BouncerPane).view
    return None if view is None else {p.name for p in view.pools}


@pytest.mark.asyncio
async def test_the_pgbouncer_pane_shows_the_pools_of_the_frame_at_the_cursor(
    pg, tmp_path: Path
) -> None:
    try:
        bouncer = PgBouncer(pg).start()
    except BouncerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PgBouncer is required in CI: {exc}", pytrace=False)
        pytest.skip(f"no PgBouncer available: {exc}")
    store = tmp_path / "rec.sqlite"
    dsn = monitor_dsn(pg)
    args = ["--dsn", dsn, "--pgbouncer", bouncer.admin_dsn(), "--store", str(store),
            "--interval", "0.5"]  # fmt: skip
    try:
        with recording(args, tmp_path) as rec:
            wait_until(lambda: (f := latest(store)) is not None and "pgbouncer" in f.figures,
                       30, "a frame with PgBouncer's figures")  # fmt: skip
            first = latest(store)
            assert first is not None and POOL not in pool_names(first)
            with psycopg.connect(bouncer.dsn(user="app")) as client:
                client.execute("SELECT 1")  # a transaction left open: a client of the pool
                wait_until(lambda: (f := latest(store)) is not None and POOL in
                           pool_names(f) and f.at >= first.at + timedelta(seconds=12),
                           60, "the pool in the frames for a while")  # fmt: skip
                assert rec.stop() == 0
    finally:
        bouncer.cleanup()
    later = FrameReader(store).pools(first.server, first.at + timedelta(seconds=10))
    assert later is not None and POOL in {p.name for p in later.pools}
    run = Run(store, first.server, dsn, 0, 0, first.at, first.at, first.at + timedelta(seconds=12))
    path = incident_file(run, tmp_path)
    incident = load(path, lazy=True).incident
    app = WarroomApp(replay_session(path, incident, at=first.at,
                                    frames=frames_for(path, incident, None)))  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until_async(pilot, lambda: shown_pools(app) is not None)
        assert POOL not in (shown_pools(app) or set())
        await pilot.press("right")  # 10 s on: the client of the pool is there
        await wait_until_async(pilot, lambda: POOL in (shown_pools(app) or set()))
        await pilot.press("left")  # and back: gone again
        await wait_until_async(pilot, lambda: POOL not in (shown_pools(app) or set()))


def test_a_store_of_several_servers_needs_target(tmp_path: Path) -> None:
    store = tmp_path / "two.sqlite"
    now = datetime.now(UTC)
    with FrameStore(store) as s:  # two servers' frames, as a recorder of both keeps them
        for name in ("db1:5432", "db2:5432"):
            s.append(Frame(name, now, "up", {"status": "up"}, ()))
    done = cli("--recorder", "--store", str(store), home=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "keeps 2 servers (db1:5432, db2:5432): choose one with --target NAME" in done.stderr
    history = open_history(store, "db2:5432")
    assert history.server == "db2:5432" and history.first == history.last
