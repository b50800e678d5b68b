"""`warroom record` with ``open_incident_on = "critical"`` against a real server whose slots a
pool fills: one incident opened at the first breach with the lead-up, later breaches on its
timeline (across a restart too), incident.opened notified, the frames saved when it is
resolved, and `warroom watch` with no --session finding it."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cli_helpers import run_warroom
from support.pgcluster import APP_ROLE, PgCluster
from support.polling import wait_until

from recording.recorder_process import monitor_dsn, recording, samples_seen
from recording.test_lead_up import rollups_kept
from warroom.collectors.dsn import server_name
from warroom.recording.opener import AUTHOR, for_watch
from warroom.recording.store import FrameStore
from warroom.sessions.model import Kind, Source
from warroom.sessions.store import load

CRITICAL_LOW = "[alerts.saturation]\nwarning = 40\ncritical = 80\nmargin = 5\nclear_after = 2\n"


def config(tmp: Path) -> str:
    got = tmp / "notified.jsonl"
    append = [sys.executable, "-c",
              "import sys; open(sys.argv[1], 'a').write(sys.stdin.read().replace('\\n', ' ')"
              " + '\\n')", str(got)]  # fmt: skip
    command = "[" + ", ".join(json.dumps(a) for a in append) + "]"
    return (CRITICAL_LOW + '\n[record]\nopen_incident_on = "critical"\n\n[[notify]]\n'
            f'name = "file"\ncommand = {command}\nmin_interval_s = 0.0\n')  # fmt: skip


def notified(tmp: Path) -> list[dict]:  # type: ignore[type-arg]
    path = tmp / "notified.jsonl"
    if not path.exists():
        return []
    return [e for line in path.read_text().splitlines() if line.strip()
            for e in json.loads(line)["events"]]  # fmt: skip


@contextlib.contextmanager
def filled(cluster: PgCluster, most: int = 100) -> Iterator[list[psycopg.Connection]]:
    """An application's connections opened until the server refuses the next (or ``most``):
    every slot an application may use is held (a pool that filled max_connections)."""
    held: list[psycopg.Connection] = []
    try:
        while len(held) < most:
            try:
                held.append(psycopg.connect(cluster.dsn(user=APP_ROLE, application_name="pool"),
                                            connect_timeout=5))  # fmt: skip
            except psycopg.OperationalError:
                break
        assert len(held) >= min(most, 4)
        yield held
    finally:
        for conn in held:
            conn.close()


def sessions(home: Path) -> list[Path]:
    return sorted(home.glob("*.toml"))


def recorder_entries(path: Path) -> list:  # type: ignore[type-arg]
    return [e for e in load(path).incident.timeline if e.author == AUTHOR]


def saturated_after(path: Path, seen: int) -> bool:
    """A critical saturation raised on the timeline after its first ``seen`` recorder entries."""
    return any(e.text.startswith("raised CRITICAL saturation")
               for e in recorder_entries(path)[seen:])  # fmt: skip


def test_the_recorder_opens_one_incident_and_keeps_it_across_a_restart(
    pg_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = pg_factory(max_connections=12)
    home = tmp_path / "incidents"
    monkeypatch.setenv("WARROOM_HOME", str(home))  # the recorder's environment inherits it
    store = tmp_path / "state" / "warroom" / "recorder.sqlite"
    dsn = monitor_dsn(cluster)
    args = ["--dsn", dsn, "--interval", "0.5"]
    with recording(args, tmp_path, config(tmp_path)) as rec:
        wait_until(lambda: rollups_kept(store) >= 1, 60, "a closed rollup before the breach")
        with filled(cluster, 4):  # the climb: 4 of 9 slots is a warning, not yet critical
            rec.wait_line("alert warning raised")
            assert not sessions(home)
            with filled(cluster):
                rec.wait_line("opened incident")
                [session] = sessions(home)
                wait_until(lambda: any(e["type"] == "incident.opened"
                                       for e in notified(tmp_path)),
                           30, "incident.opened delivered")  # fmt: skip
        rec.wait_line("alert critical cleared")  # the pool gave its connections back
        first = len(recorder_entries(session))
        with filled(cluster):
            wait_until(lambda: saturated_after(session, first), 30, "a second breach")
        assert rec.stop() == 0
    assert sessions(home) == [session]  # the second breach did not open another
    incident = load(session).incident
    opening = incident.timeline[0]
    assert opening.kind in (Kind.ALERT, Kind.FINDING) and opening.source is Source.AUTO
    assert opening.author == AUTHOR and "critical" in opening.text.lower()
    # Impact began at the first breach (the warning), not when it turned critical.
    assert incident.started_at < opening.at and incident.detected_at == opening.at
    assert incident.title.startswith(f"{server_name(dsn)}: ")
    assert incident.target.dsn and "password" not in incident.target.dsn
    lead = [s for s in incident.samples if s.source == "recorder"]
    assert lead and min(s.at for s in lead) < incident.started_at  # the climb before it
    kinds = {e["type"] for e in notified(tmp_path)}
    assert {"incident.opened", "alert.raised"} <= kinds
    opened = next(e for e in notified(tmp_path) if e["type"] == "incident.opened")
    assert opened["incident"]["session"] == str(session)

    # A restart finds its incident again: the next breach lands there, nothing new opens.
    before = len(recorder_entries(session))
    with recording(args, tmp_path, config(tmp_path)) as rec:
        rec.wait_line(f"incident {session} is open")
        # Connected and sampling before the pool fills the server: the line above comes at
        # start, and a recorder that finds every slot taken cannot measure the saturation.
        samples_seen(cluster, 2)
        with filled(cluster):
            wait_until(lambda: saturated_after(session, before), 30, "a breach after it")
        assert rec.stop() == 0
    assert sessions(home) == [session]

    # `warroom watch` with no --session resumes it; with --title it is a new incident.
    assert for_watch([], [], []) == session
    assert for_watch([dsn], [], []) == session

    # Resolved from the CLI: the frames of its span are saved beside it.
    env = {"XDG_STATE_HOME": str(tmp_path / "state"),
           "WARROOM_CONFIG": str(tmp_path / "config.toml")}  # fmt: skip
    out = run_warroom("status", "resolved", home=home, env=env)
    assert out.returncode == 0, out.stderr
    frames = session.with_name(session.stem + ".frames.sqlite")
    assert frames.is_file()
    with FrameStore(frames, readonly=True) as copy:
        [server] = copy.servers()
        span = copy.span(server)
        assert span is not None and span[0] <= incident.started_at
    assert for_watch([], [], []) is None  # resolved: watch opens a new incident again
