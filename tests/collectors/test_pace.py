"""A server whose sample costs it more than its share is sampled less often (collectors/pace.py):
the cadence from measured costs, the poll loop that follows it, and the cost a real server
reports for its own sample on both majors."""

from __future__ import annotations

import threading

import pytest
from support.pgcluster import MONITOR_ROLE, PgCluster

from warroom.collectors.pace import MAX_EVERY_S, SERVER_SHARE, Pace
from warroom.collectors.poll import Poller
from warroom.collectors.postgres import PostgresCollector


def paced(*costs_ms: float, interval: float = 1.0) -> float:
    pace = Pace(interval)
    for ms in costs_ms:
        pace.record(ms / 1000)
    return pace.every()


def test_a_cheap_sample_keeps_the_interval_asked_for() -> None:
    assert paced() == 1.0  # nothing measured yet
    assert paced(3.5, 10.0, 27.0) == 1.0  # up to 6,000 backends: 27 ms is within 3 %
    assert paced(5.0, interval=0.2) == 0.2  # 5 ms of 200: 2.5 %
    assert paced(7.0, interval=0.2) == 0.4


def test_a_costly_sample_stretches_to_whole_intervals_within_the_share() -> None:
    # 10,000 backends on 15: 55-70 ms a sample. Every 2 s or 3 s keeps it under 30 ms a second.
    assert paced(55.0) == 2.0
    assert paced(70.0) == 3.0
    assert 70.0 / paced(70.0) <= SERVER_SHARE * 1000
    assert paced(70.0, interval=2.0) == 4.0  # whole intervals of the one asked for
    assert paced(10_000.0) == MAX_EVERY_S  # past the cap the counts would be too old to act on


def test_one_slow_sample_does_not_stretch_it_but_a_lasting_cost_does() -> None:
    assert paced(3.0, 3.0, 3.0, 3.0, 400.0) == 1.0  # a checkpoint's moment: the median holds
    assert paced(3.0, 3.0, 400.0, 400.0, 400.0) == MAX_EVERY_S
    assert paced(400.0, 400.0, 3.0, 3.0, 3.0, 3.0, 3.0) == 1.0  # and comes back when it eases


def test_the_poller_waits_as_long_as_the_pace_says() -> None:
    got: list[int] = []
    done = threading.Event()
    # An interval of an hour, a pace of nothing: three samples come at once, so the pace won.
    poller: Poller[int] = Poller("paced", lambda: len(got), got.append, 3600.0, count=3,
                                 min_wait=0.0, pace=lambda: 0.0, on_exit=done.set)  # fmt: skip
    poller.start()
    assert done.wait(10), f"only {len(got)} samples: the poller kept the hour's interval"
    assert got == [0, 1, 2]


def test_the_server_reports_what_its_sample_cost(pg: PgCluster) -> None:
    col = PostgresCollector(pg.dsn(user=MONITOR_ROLE), interval=1.0, probe_every=0)
    try:
        first = col.sample()
        assert first.up, first.error
        assert first.server_ms is not None and first.server_ms > 0
        # What the poller is told matches what the sample says (a loaded test machine can make
        # even this sample's wall time on the server long: no fixed figure here).
        assert first.every_s == col.every()
        # The same server, with a share so small that its real cost is over it (the median of
        # the two costs is at least half the first's: 2.25 intervals or more). The new pace
        # starts from the first's cost: alone, a warm second sample can cost a fifth of the
        # cold first one, under the share.
        col.pace = Pace(1.0, share=first.server_ms / 1000 / 4.5)
        col.pace.record(first.server_ms / 1000)
        second = col.sample()
        assert second.up, second.error
        assert second.every_s is not None and second.every_s >= 2.0
        assert second.every_s == col.every()
    finally:
        col.close()


@pytest.mark.parametrize("costs", [(55.0,), (0.0, 0.0, 0.0)])
def test_negative_or_missing_costs_are_ignored(costs: tuple[float, ...]) -> None:
    pace = Pace(1.0)
    pace.record(None)
    pace.record(-1.0)
    for ms in costs:
        pace.record(ms / 1000)
    assert pace.cost_s == pytest.approx(sorted(costs)[len(costs) // 2] / 1000)


def test_a_pace_that_fails_leaves_the_interval_asked_for() -> None:
    got: list[int] = []
    done = threading.Event()

    def broken() -> float:
        raise ZeroDivisionError("a pacing bug")

    poller: Poller[int] = Poller("broken-pace", lambda: len(got), got.append, 0.0, count=3,
                                 min_wait=0.0, pace=broken, on_exit=done.set)  # fmt: skip
    poller.start()
    assert done.wait(10), f"sampling ended after {len(got)} samples"
    assert got == [0, 1, 2]
