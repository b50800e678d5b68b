"""A recorder run with --target keeps the server under its [[targets]] name; an incident that
watches the same server by --dsn (named host:port) still gets its lead-up and its frames."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from cli_helpers import run_warroom
from support.pgcluster import APP_ROLE
from support.polling import wait_until

from recording.recorder_process import monitor_dsn, recording
from recording.test_lead_up import rollups_kept
from warroom.collectors.dsn import server_name
from warroom.recording.export import frames_path, server_names
from warroom.recording.store import FrameStore
from warroom.sessions.model import Incident, Server, Target
from warroom.sessions.store import load

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_a_recorder_named_by_target_serves_an_incident_named_by_host_and_port(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warroom.tui.launch import WatchOptions, open_store

    dsn = monitor_dsn(pg)
    config = f'[[targets]]\nname = "primary"\ndsn = "{dsn}"\n'
    store = tmp_path / "state" / "warroom" / "recorder.sqlite"
    with psycopg.connect(pg.dsn(user=APP_ROLE, application_name="climbing")) as held:
        held.execute("SELECT 1")
        with recording(["--target", "primary", "--interval", "0.5"], tmp_path, config) as rec:
            wait_until(lambda: rollups_kept(store) >= 2, 60, "two closed rollups")
            assert rec.stop() == 0
    with FrameStore(store, readonly=True) as kept:
        assert kept.servers() == ["primary"]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))  # the [[targets]] above
    session = tmp_path / "incident.toml"
    opened = open_store(WatchOptions(dsn=dsn, session=session, title="pool climbing",
                                     interval=1.0, pgbouncer=None, author="tester"))  # fmt: skip
    incident = load(session).incident
    assert server_names(incident) == [server_name(dsn)]  # the record's own name
    samples = incident.samples
    assert len(samples) >= 2 and all(s.source == "recorder" for s in samples)
    assert all(s.end <= opened.incident.started_at for s in samples)
    assert all(s.server is None for s in samples)  # one server: unnamed, as the record keeps
    # `warroom frames` finds them under the target's name too.
    result = run_warroom("frames", str(session), home=tmp_path, env={
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "WARROOM_CONFIG": str(tmp_path / "config.toml")})  # fmt: skip
    assert result.returncode == 0, result.stderr
    with FrameStore(frames_path(session), readonly=True) as copy:
        assert copy.servers() == ["primary"]
        assert copy.span("primary") is not None


def test_names_map_only_to_the_same_host_and_port() -> None:
    one = Incident.create("t", T0, target=Target(dsn="host=db1 port=5432 dbname=orders"))
    assert server_names(one, ["db1:5432"]) == ["db1:5432"]
    assert server_names(one, ["db2:5432", "db1:5433"]) == ["db1:5432"]  # not kept: its own
    several = Incident.create("t", T0, target=Target(servers=[
        Server("primary", "host=db1 port=5432", ""), Server("replica", "host=db2", "")]))
    # the store knows the primary by host:port (a recorder run with --dsn) and the replica by name
    assert server_names(several, ["db1:5432", "replica"]) == ["db1:5432", "replica"]
