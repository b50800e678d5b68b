"""A recording read as a source on a clock: each recorded sample arrives once, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.collectors.sample import PgSample
from warroom.rollup import SampleRollup
from warroom.sessions.recorded import RecordedServer, Recording

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def windows(n: int) -> list[SampleRollup]:
    return [SampleRollup(at=T0 + timedelta(seconds=10 * i), seconds=10, samples=10,
                         conn_max=10 + i, conn_last=10 + i, conn_min=10 + i, conn_mean=10 + i,
                         max_connections=100) for i in range(n)]  # fmt: skip


def test_moving_the_clock_in_steps_yields_each_sample_once_and_in_order() -> None:
    clock = Clock()
    source = RecordedServer(Recording(windows(6)), clock)
    seen: list[PgSample] = []
    for step in (3, 0, 7, 12.5, 0.5, 40):  # uneven steps, one of zero
        clock.now += timedelta(seconds=step)
        seen += [s for s in source.sample() if isinstance(s, PgSample)]
    times = [s.at for s in seen]
    assert times == sorted(times) and len(times) == len(set(times))
    # all six windows of ten samples, each once: what a poller would have delivered live
    assert len(seen) == 60
    assert seen[-1].connections is not None and seen[-1].connections.total == 15


def test_a_clock_moved_back_yields_nothing_then_follows_from_there() -> None:
    clock = Clock()
    source = RecordedServer(Recording(windows(3)), clock)
    clock.now += timedelta(seconds=30)
    assert len(source.sample()) == 30
    clock.now -= timedelta(seconds=20)
    assert source.sample() == []  # going back replays nothing: a seek rebuilds the states
    clock.now += timedelta(seconds=10)
    assert [s.at for s in source.sample()] == [
        T0 + timedelta(seconds=10 + i + 0.5) for i in range(10)
    ]
