"""Standbys coming and going, lag and idle slots as alerts: pure rules on fixed samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.collectors.alerts import AlertConfig, AlertEngine, State, parse_config
from warroom.collectors.replication_watch import ReplicationWatch
from warroom.collectors.sample import PgSample, ReplicaLink, Replication, Slot

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
MB = 1 << 20


def at(n: int) -> datetime:
    return T0 + timedelta(seconds=n)


def primary(n: int, *names: str, slots: tuple[Slot, ...] = (), lag_s: float = 0.0) -> PgSample:
    links = tuple(ReplicaLink(x, "10.0.0.2", "streaming", "async", 0, 5 * MB, 0, 0, lag_s)
                  for x in names)  # fmt: skip
    return PgSample(at(n), "up", replication=Replication("primary", links, slots))


def replica(n: int, receiving: bool = True, lag_s: float = 0.0, paused: bool = False) -> PgSample:
    repl = Replication("replica", lag_bytes=int(lag_s * MB), lag_s=lag_s, replay_paused=paused,
                       receiving=receiving, upstream="db1:5432")  # fmt: skip
    return PgSample(at(n), "up", replication=repl)


def test_a_standby_that_leaves_and_returns_is_news_once_each_way() -> None:
    watch = ReplicationWatch()
    assert watch.feed(primary(0, "r1", "r2")) == []  # what is there at the start is no news
    assert watch.feed(primary(1, "r1", "r2")) == []
    lost = watch.feed(primary(2, "r2"))
    assert [c.text for c in lost] == ["standby r1 disconnected (was streaming)"]
    assert watch.feed(PgSample(at(3), "down")) == []  # no answer says nothing about standbys
    assert watch.feed(primary(4, "r2")) == []
    back = watch.feed(primary(5, "r1", "r2"))
    assert [(c.kind, c.text) for c in back] == [("standby_joined", "standby r1 connected "
                                                                   "(streaming)")]  # fmt: skip


def test_a_replica_that_loses_its_primary_says_so_and_when_it_streams_again() -> None:
    watch = ReplicationWatch()
    assert watch.feed(replica(0)) == []
    assert [c.kind for c in watch.feed(replica(1, receiving=False))] == ["receiver_lost"]
    assert watch.feed(replica(2, receiving=False)) == []
    assert [c.text for c in watch.feed(replica(3))] == ["streaming from db1:5432 again"]


def test_replication_lag_raises_with_the_bytes_behind_and_clears_with_hysteresis() -> None:
    engine = AlertEngine(AlertConfig())
    assert engine.evaluate(replica(0, lag_s=10)) == []
    raised = engine.evaluate(replica(1, lag_s=45, paused=True))
    assert [e.message for e in raised] == [
        "raised WARNING replication lag 45 s >= 30 s (45 MB received, not replayed, "
        "replay paused)"
    ]
    cleared = [e for n in range(2, 6) for e in engine.evaluate(replica(n, lag_s=0))]
    assert [e.state for e in cleared] == [State.CLEARED]


def test_an_inactive_slot_retaining_wal_over_the_configured_size_is_raised() -> None:
    config = parse_config({"alerts": {"inactive_slot": {"warning": 64, "margin": 8}}})
    engine = AlertEngine(config)
    busy = Slot("r1", "physical", True, 500 * MB)
    assert engine.evaluate(primary(0, "r1", slots=(busy,))) == []  # an active slot is fine
    idle = Slot("etl", "logical", False, 80 * MB, "reserved")
    raised = engine.evaluate(primary(1, "r1", slots=(busy, idle)))
    assert [e.message for e in raised] == [
        "raised WARNING inactive replication slot retaining WAL 80 MB >= 64 MB (etl 80 MB)"
    ]


def test_the_lag_rules_say_nothing_about_a_server_without_replication_figures() -> None:
    engine = AlertEngine(AlertConfig())
    assert engine.evaluate(PgSample(at(0), "up")) == []
    assert engine.active() == []
