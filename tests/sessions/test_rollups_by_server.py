"""Several servers' rollups in one record are read one server at a time (issue 12)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from support.servers import GOLDEN_START, single_server_incident, write_three_servers

from warroom import formats
from warroom.sessions import pending, servers
from warroom.sessions.model import Incident, SampleRollup, first_server_rollups, rollups_by_server
from warroom.sessions.postmortem import render
from warroom.sessions.recorded import Recording


def test_a_mixed_file_splits_by_server_in_watch_order(tmp_path: Path) -> None:
    incident = write_three_servers(tmp_path / "s.toml", windows=12)
    by_server = rollups_by_server(incident.samples, (s.name for s in incident.target.servers))
    assert list(by_server) == ["primary", "replica-1", "replica-2"]
    for name, rollups in by_server.items():
        assert len(rollups) == 12 and {r.server for r in rollups} == {name}
        assert [r.at for r in rollups] == sorted(r.at for r in rollups)
    assert first_server_rollups(incident) == by_server["primary"]
    # Watch order wins over file order; names not watched (any more) follow as they appear.
    reordered = rollups_by_server(incident.samples, ["replica-2", "gone"])
    assert list(reordered) == ["replica-2", "primary", "replica-1"]


def test_a_single_server_record_is_one_stream_under_none() -> None:
    incident = single_server_incident()
    by_server = rollups_by_server(reversed(incident.samples))
    assert list(by_server) == [None]
    assert by_server[None] == sorted(incident.samples, key=lambda r: r.at)
    assert first_server_rollups(incident) == by_server[None]
    assert first_server_rollups(Incident.create("quiet", GOLDEN_START)) == []


def test_a_recording_refuses_two_servers_and_replays_one(tmp_path: Path) -> None:
    incident = write_three_servers(tmp_path / "s.toml", windows=12)
    with pytest.raises(ValueError, match="rollups_by_server"):
        Recording(incident.samples)
    first = first_server_rollups(incident)
    recording = Recording(first[:6])
    recording.extend(first)  # a session still being written: the newer windows join
    assert recording.rollups == first and recording.server == "primary"
    with pytest.raises(ValueError):
        recording.extend(rollups_by_server(incident.samples)["replica-1"])
    # The samples of a stretch are the primary's: replica-2 (max_connections 50) stays out.
    start = first[0].at
    limits = {s.connections.max for s in recording.between(start, start + timedelta(minutes=2))
              if getattr(s, "connections", None) is not None}
    assert limits == {100}

def test_pending_rollups_of_one_window_are_all_kept_once(tmp_path: Path) -> None:
    incident = write_three_servers(tmp_path / "s.toml", windows=3)
    at = incident.samples[-1].at + timedelta(seconds=10)
    window = [SampleRollup(at=at, server=name, conn_max=1)
              for name in ("primary", "replica-1", "replica-2")]
    queued = pending.Pending(samples=[*window, window[1]])  # one queued twice
    assert pending.merge_into(incident, queued) == 3
    assert [r.server for r in incident.samples if r.at == at] == ["primary", "replica-1",
                                                                 "replica-2"]
    assert pending.merge_into(incident, queued) == 0


def test_lag_and_roles_in_words() -> None:
    assert [formats.format_bytes(v) for v in (0, 900, 4096, 3 * 2**20 + 2**19, 48 * 2**20,
                                              5 * 2**40)] == [
        "0 bytes", "900 bytes", "4 kB", "3.5 MB", "48 MB", "5 TB"]  # fmt: skip
    assert [formats.format_seconds(v) for v in (0.0, 0.44, 12.4, 90, 750)] == [
        "0 s", "0.4 s", "12 s", "1m 30s", "12m 30s"]
    assert formats.lag_text(None, None) == "" and formats.lag_text(2048, None) == "2 kB"
    at = GOLDEN_START
    rollups = [SampleRollup(at=at + timedelta(seconds=10 * i), role=role)
               for i, role in enumerate(["replica", None, "replica", "primary", "primary"])]
    assert servers.roles_seen(rollups) == [("replica", at), ("primary", rollups[3].at)]
    assert servers.roles_text(servers.roles_seen(rollups)) == "replica → primary"
    assert servers.roles_text([]) == "—"


def test_rollups_without_a_name_are_the_session_s_server_in_the_draft() -> None:
    # A single-server session resumed watching several: its first windows name no server, and
    # the reader names them with the session's server (host:port of its DSN), N servers always.
    incident = single_server_incident()
    later = incident.samples[-1].at + timedelta(seconds=10)
    incident.samples += [SampleRollup(at=later, server=name, conn_max=5, role="replica")
                         for name in ("replica-1", "replica-2")]
    metrics = render(incident).split("## Metrics\n", 1)[1]
    assert "| db1:5432 | — | 40s | — |" in metrics
    assert "\n### db1:5432\n" in metrics and "\n### replica-2\n" in metrics
