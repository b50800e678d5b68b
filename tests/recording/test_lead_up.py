"""The lead-up: a dashboard opening an incident on a recorded server starts with what the
recorder saw before, marked as the recorder's, in the record on disk."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from support.pgcluster import APP_ROLE
from support.polling import wait_until

from recording.recorder_process import monitor_dsn, recording
from warroom.recording.store import FrameStore, StoreError
from warroom.sessions.store import load


def rollups_kept(store: Path) -> int:
    try:
        s = FrameStore(store, readonly=True)
    except StoreError:  # not there yet, or its schema not yet written
        return 0
    with s:
        return int(s._db.execute("SELECT count(*) FROM rollups").fetchone()[0])


def test_a_new_incident_takes_the_recorders_lead_up(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warroom.tui.launch import WatchOptions, open_store

    dsn = monitor_dsn(pg)
    store = tmp_path / "state" / "warroom" / "recorder.sqlite"  # the default place
    with psycopg.connect(pg.dsn(user=APP_ROLE, application_name="climbing")) as held:
        held.execute("SELECT 1")
        with recording(["--dsn", dsn, "--interval", "0.5"], tmp_path) as rec:
            wait_until(lambda: rollups_kept(store) >= 2, 60, "two closed rollups")
            assert rec.stop() == 0
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))
    session = tmp_path / "incident.toml"
    opened = open_store(WatchOptions(dsn=dsn, session=session, title="pool climbing",
                                     interval=1.0, pgbouncer=None, author="tester"))  # fmt: skip
    started = opened.incident.started_at
    samples = load(session).incident.samples  # read back from the file
    assert len(samples) >= 2
    assert all(s.source == "recorder" and s.end <= started for s in samples)
    assert all(s.server is None for s in samples)  # one server: unnamed, as the record keeps
    assert any(s.conn_max and s.conn_max >= 1 for s in samples)
    assert any(name == "climbing" for s in samples for name, _ in s.top_apps)
    assert os.path.getsize(session) > 0


def test_no_recorder_no_lead_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warroom.tui.launch import WatchOptions, open_store

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("")
    session = tmp_path / "incident.toml"
    open_store(WatchOptions(dsn="host=db1.example port=5432", session=session, title="t",
                            interval=1.0, pgbouncer=None, author="tester"))  # fmt: skip
    assert load(session).incident.samples == []
    assert not (tmp_path / "nothing-here").exists()


def test_the_recording_package_never_imports_textual() -> None:
    import subprocess
    import sys

    code = ("import importlib, pkgutil, sys\nimport warroom.recording as pkg\n"
            "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "    importlib.import_module(info.name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
