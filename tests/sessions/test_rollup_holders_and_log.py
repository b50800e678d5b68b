"""Issue 19 on the record side: rollups keep who held the slots and what the server's log refused,
through the dashboard's own data path (LiveState), the session file, replay, the draft and the page.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.collectors.sample import Connections, Count, Group, PgSample
from warroom.collectors.serverlog.counts import Group as LogGroup
from warroom.collectors.serverlog.counts import LogCounts
from warroom.sessions.model import Incident, SampleRollup, Target
from warroom.sessions.postmortem import render
from warroom.sessions.recorded import Recording
from warroom.sessions.store import Store, load
from warroom.tui.state import LiveState
from warroom.web import view

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _sample(at: datetime) -> PgSample:
    checkout = Group("", "checkout", 35, clients=(Count("10.0.0.5", 30), Count("10.0.0.6", 5)),
                     client_count=2)
    batch = Group("", "batch", 15, clients=(Count("10.0.0.9", 15),), client_count=1)
    conns = Connections(total=50, max=60, reserved=3, by_state={"idle in transaction": 50},
                        waiting=0, by_application=(Count("", 50),),
                        by_user=(Count("checkout", 35), Count("batch", 15)),
                        by_client=(Count("10.0.0.5", 30), Count("10.0.0.9", 15)),
                        by_group=(checkout, batch))
    return PgSample(at=at, status="up", connections=conns, query_ms=1.0, connect_ms=2.0)


def _storm(refused: int, by_checkout: int) -> LogCounts:
    top = (LogGroup("checkout", "shop", "", "10.0.0.5", by_checkout),
           LogGroup("batch", "shop", "", "10.0.0.9", refused - by_checkout))
    return LogCounts(source="file", format="stderr", seconds=2.0,
                     totals={"refused": refused, "auth_failed": 1}, top={"refused": top})


def _recorded_storm() -> list[SampleRollup]:
    """Two minutes of samples and log reads through the dashboard's LiveState."""
    state = LiveState(rollup_seconds=10.0)
    rollups: list[SampleRollup] = []
    for second in range(0, 120, 2):
        at = T0 + timedelta(seconds=second, milliseconds=500)
        rollups += state.feed(_sample(at)).rollups
        if second >= 10:  # the storm: 55 reads, 74 or 75 refusals each, 74 of them checkout
            state.feed_server_log(_storm(75 if second % 4 else 74, 74), at)
    return rollups + state.flush()


def test_rollups_keep_holders_and_the_server_log_through_the_file(tmp_path: Path) -> None:
    rollups = _recorded_storm()
    assert sum(r.log_refused or 0 for r in rollups) == 28 * 75 + 27 * 74 == 4098
    first = rollups[0]
    assert first.log_source is None and first.log_refused is None  # before the log was read
    storm = rollups[3]
    assert storm.top_users == (("checkout", 35), ("batch", 15))
    assert storm.top_groups[0].name == "user checkout"
    assert storm.top_groups[0].clients == (Count("10.0.0.5", 30),)
    assert storm.log_refused_top[0].name == "user checkout from 10.0.0.5"
    assert dict(storm.log_counts)["auth_failed"] == 5

    incident = Incident.create("refusal storm", T0, target=Target(dsn="host=db1 port=5433"))
    path = tmp_path / "s.toml"
    store = Store.create(path, incident)
    store.append_samples(rollups)
    block = tomllib.loads(path.read_text())["samples"][3]
    assert block["log_counts"]["refused"] == storm.log_refused
    assert block["top_groups"][0] == ["", "checkout", 35, 2, "10.0.0.5", 30]
    assert load(path).incident.samples == rollups


def test_a_file_without_the_new_keys_still_reads(tmp_path: Path) -> None:
    incident = Incident.create("older", T0, target=Target(dsn="host=db1"))
    path = tmp_path / "old.toml"
    Store.create(path, incident).append_samples([SampleRollup(at=T0, samples=10, conn_max=5)])
    text = path.read_text()
    assert "top_users" not in text and "log_" not in text
    (read,) = load(path).incident.samples
    assert (read.top_groups, read.log_source, read.log_refused) == ((), None, None)


def test_the_draft_says_how_many_the_server_refused_and_whom() -> None:
    incident = Incident.create("refusal storm", T0, target=Target(dsn="host=db1 port=5433"))
    incident.samples = _recorded_storm()
    draft = render(incident)
    impact = draft.split("## Impact", 1)[1].split("## Detection", 1)[0]
    assert ("The server db1:5433 refused 4,098 connections between 09:00 and 09:02 UTC "
            "(counted in its log), 4,070 of them for user checkout from 10.0.0.5.") in impact


def test_no_log_no_refusal_line() -> None:
    incident = Incident.create("quiet", T0, target=Target(dsn="host=db1"))
    state = LiveState()
    incident.samples = [*state.feed(_sample(T0)).rollups, *state.flush()]
    assert "refused" not in render(incident).split("## Detection", 1)[0]


def test_the_page_shows_the_server_s_refusals_and_who_holds_the_slots() -> None:
    incident = Incident.create("refusal storm", T0, target=Target(dsn="host=db1"))
    incident.samples = [r for r in _recorded_storm() if r.at < T0 + timedelta(seconds=100)]
    current = view.figures(incident, T0 + timedelta(seconds=100))["current"]
    assert current["server_refused_1m"] == sum(
        r.log_refused or 0 for r in incident.samples[-6:])
    assert [h["name"] for h in current["holders"]] == ["user checkout", "user batch"]
    assert current["holders"][0]["client"] == "10.0.0.5"


def test_replay_gives_the_holders_back_to_the_dashboard() -> None:
    rollups = _recorded_storm()
    replay = Recording(rollups)
    state = LiveState()
    state.feed_history(replay.between(T0, T0 + timedelta(seconds=40)))
    conns = state.last_up.connections if state.last_up else None
    assert conns is not None
    assert [g.name for g in conns.by_group] == ["user checkout", "user batch"]
    assert conns.by_user == (Count("checkout", 35), Count("batch", 15))
