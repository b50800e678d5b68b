"""Ring buffers, window statistics and 10-second rollups, as the dashboard and the file use them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.collectors.sample import Connections, Failure, FailureKind, PgSample
from warroom.collectors.series import RollupBuilder, Series, Window, percentile
from warroom.sessions.model import SampleRollup

T0 = datetime(2026, 3, 1, 3, 0, 0, tzinfo=UTC)


def up(at: datetime, total: int = 10, query_ms: float = 1.0, connect_ms: float | None = 5.0,
       probe_error: Failure | None = None, max_connections: int = 100) -> PgSample:
    conns = Connections(total=total, max=max_connections, reserved=3, by_state={"idle": total},
                        waiting=0, by_application=())
    return PgSample(at=at, status="up", connections=conns, query_ms=query_ms,
                    connect_ms=connect_ms, probe_error=probe_error)


def down(at: datetime) -> PgSample:
    return PgSample(at=at, status="down", error=Failure(FailureKind.UNREACHABLE, "refused"))


# -- Series -------------------------------------------------------------------------------------

def test_series_keeps_only_the_newest_points() -> None:
    series = Series(maxlen=5)
    for i in range(1000):
        series.append(float(i), float(i))
    assert len(series) == 5
    assert [v for _, v in series.points()] == [995.0, 996.0, 997.0, 998.0, 999.0]


def _columns_afresh(
    points: list[tuple[float, float]], now: float, span: float, width: int
) -> tuple[float | None, ...]:
    """What a chart shows, by its definition: column ``c`` holds the peak of the points in
    ``[c * step, (c + 1) * step)``, the last column the one holding ``now``."""
    step = span / width
    last = math.floor(now / step)
    peaks: dict[int, float] = {}
    for at, value in points:
        c = math.floor(at / step)
        peaks[c] = max(value, peaks.get(c, value))
    return tuple(peaks.get(c) for c in range(last - width + 1, last + 1))


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("point"), st.floats(0, 40), st.floats(0, 500)),
            st.tuples(st.just("draw"), st.sampled_from([1, 3, 7, 60]), st.floats(0, 30)),
        ),
        max_size=300,
    )
)
def test_a_chart_kept_as_points_arrive_is_the_chart_drawn_afresh(ops: list[tuple]) -> None:
    """Whatever the order of points arriving and panes of any width drawing (a resize), the
    columns kept as points came are those bucketed from scratch."""
    series = Series(maxlen=10_000)
    points: list[tuple[float, float]] = []
    at = 1_000.0
    for kind, a, b in ops:
        if kind == "point":
            at += a  # time moves on by up to 40 s: across many columns, and gaps
            series.append(at, b)
            points.append((at, b))
        else:
            now = at + b
            assert series.columns(now, 600.0, a) == _columns_afresh(points, now, 600.0, a)


def test_an_hours_chart_kept_as_points_arrive_is_the_chart_drawn_afresh() -> None:
    """An incident's hour at one sample a second: the columns that scrolled off are let go
    (the series keeps twice a chart's), and the chart is still the one bucketed afresh."""
    series = Series()
    points: list[tuple[float, float]] = []
    for i in range(3_600):
        at, value = 50_000.0 + i, float((i * 37) % 101)
        series.append(at, value)
        points.append((at, value))
        if i % 97 == 0 or i > 3_500:
            assert series.columns(at, 600.0, 56) == _columns_afresh(points, at, 600.0, 56)


def test_a_charts_past_columns_stay_put_while_its_newest_fills() -> None:
    """A second's sample changes only the column it falls in; the picture moves one column
    left when a new column starts, not a little every second."""
    series = Series()
    width, span = 60, 600.0  # ten seconds a column
    for i in range(600):
        series.append(10_000.0 + i, float(i % 7))
    before = series.columns(10_599.0, span, width)
    series.append(10_600.0, 50.0)  # a new column starts: the chart moves one to the left
    moved = series.columns(10_600.0, span, width)
    assert moved[:-1] == before[1:] and moved[-1] == 50.0
    series.append(10_601.0, 3.0)  # within that column, below its peak: nothing changes
    assert series.columns(10_601.0, span, width) == moved
    series.append(10_602.0, 90.0)  # a spike: only its own column shows it
    spiked = series.columns(10_602.0, span, width)
    assert spiked[:-1] == moved[:-1] and spiked[-1] == 90.0


def test_window_covers_only_the_last_seconds() -> None:
    series = Series()
    for i in range(100):
        series.append(T0 + timedelta(seconds=i), float(i))
    w = series.window(10)
    # Points newer than newest - 10 s: 90 is exactly on the edge and excluded.
    assert w.count == 10
    assert (w.min, w.max) == (90.0, 99.0)
    assert w.mean == pytest.approx(94.5)
    assert w.p50 == pytest.approx(94.5)


def test_window_can_end_at_a_given_time() -> None:
    series = Series()
    for i in range(100):
        series.append(float(i), float(i))
    w = series.window(5, now=50.0)
    assert (w.count, w.min, w.max) == (5, 46.0, 50.0)


def test_empty_window_has_no_figures() -> None:
    assert Series().window(60) == Window(0, None, None, None, None, None, None)
    series = Series()
    series.append(0.0, 1.0)
    assert series.window(5, now=100.0).count == 0


def test_percentiles_of_a_known_distribution() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    w = Window.of(reversed(values))
    assert w.p50 == pytest.approx(50.5)
    assert w.p95 == pytest.approx(95.05)
    assert w.p99 == pytest.approx(99.01)
    assert Window.of([7.0]).p99 == 7.0


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200))
def test_window_figures_are_ordered_and_within_range(values: list[float]) -> None:
    w = Window.of(values)
    assert w.count == len(values)
    assert w.min is not None and w.max is not None and w.mean is not None
    assert w.p50 is not None and w.p95 is not None and w.p99 is not None
    assert w.min <= w.p50 <= w.p95 <= w.p99 <= w.max
    assert w.min <= w.mean * (1 + 1e-12) and w.mean <= w.max * (1 + 1e-12)


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=500))
def test_series_length_never_exceeds_its_bound(maxlen: int, n: int) -> None:
    series = Series(maxlen=maxlen)
    for i in range(n):
        series.append(float(i), 1.0)
    assert len(series) == min(n, maxlen)


def test_percentile_refuses_empty() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)


# -- Rollups ------------------------------------------------------------------------------------

def test_the_builder_makes_the_record_s_own_rollup() -> None:
    # One type: what the builder closes is what the session record stores, with no copy.
    builder = RollupBuilder(seconds=10)
    builder.add(up(T0))
    (rollup,) = builder.flush()
    assert type(rollup) is SampleRollup
    assert rollup.by_state == (("idle", 10),)


def test_rollups_close_on_wall_clock_boundaries() -> None:
    builder = RollupBuilder(seconds=10)
    start = T0 + timedelta(seconds=3)  # 03:00:03, inside the 03:00:00 window
    emitted: list[SampleRollup] = []
    totals = [10, 20, 30, 40, 50, 60, 70, 5, 5, 5, 5, 5, 5]
    for i, total in enumerate(totals):
        emitted += builder.add(up(start + timedelta(seconds=i), total=total, query_ms=float(i + 1)))
    # Samples at :03..:09 (7 of them) closed when :10 arrived; :10..:15 still open.
    assert len(emitted) == 1
    first = emitted[0]
    assert first.at == T0
    assert first.seconds == 10
    assert first.samples == 7
    assert first.status == "up"
    assert (first.conn_min, first.conn_max, first.conn_mean) == (10, 70, 40.0)
    assert first.max_connections == 100
    assert first.query_p50_ms == pytest.approx(4.0)
    assert first.query_max_ms == pytest.approx(7.0)
    assert first.connect_max_ms == pytest.approx(5.0)
    assert first.refused == 0
    rest = builder.flush()
    assert len(rest) == 1
    assert rest[0].at == T0 + timedelta(seconds=10)
    assert rest[0].samples == 6
    assert builder.flush() == []


def test_empty_windows_are_not_invented() -> None:
    builder = RollupBuilder(seconds=10)
    assert builder.add(up(T0 + timedelta(seconds=1))) == []
    # A minute with no samples (laptop suspended), then one sample.
    closed = builder.add(up(T0 + timedelta(seconds=65)))
    assert [r.at for r in closed] == [T0]
    assert [r.at for r in builder.flush()] == [T0 + timedelta(seconds=60)]


def test_status_up_down_partial_and_refusals() -> None:
    builder = RollupBuilder(seconds=10)
    refusal = Failure(FailureKind.TOO_MANY_CONNECTIONS, "sorry, too many clients", "53300")
    for i in range(3):
        builder.add(up(T0 + timedelta(seconds=i), connect_ms=None, probe_error=refusal))
    builder.add(down(T0 + timedelta(seconds=5)))
    partial = builder.add(down(T0 + timedelta(seconds=10)))[0]
    assert partial.status == "partial"
    assert partial.samples == 4
    assert partial.refused == 3
    assert partial.connect_max_ms is None
    assert partial.conn_min == 10
    all_down = builder.add(up(T0 + timedelta(seconds=20)))[0]
    assert all_down.status == "down"
    assert (all_down.samples, all_down.conn_min, all_down.query_p95_ms) == (1, None, None)
    assert all_down.max_connections is None


def test_monitor_turned_away_counts_as_refused() -> None:
    builder = RollupBuilder(seconds=10)
    full = PgSample(at=T0, status="down",
                    error=Failure(FailureKind.TOO_MANY_CONNECTIONS, "too many", "53300"))
    builder.add(full)
    builder.add(down(T0 + timedelta(seconds=1)))
    (rollup,) = builder.flush()
    assert (rollup.status, rollup.refused) == ("down", 1)


def test_clock_stepping_back_joins_the_open_window() -> None:
    builder = RollupBuilder(seconds=10)
    builder.add(up(T0 + timedelta(seconds=12)))
    assert builder.add(up(T0 + timedelta(seconds=2))) == []
    (rollup,) = builder.flush()
    assert rollup.at == T0 + timedelta(seconds=10)
    assert rollup.samples == 2


def test_builder_memory_is_bounded_by_one_window() -> None:
    builder = RollupBuilder(seconds=10)
    emitted = 0
    for i in range(10_000):
        emitted += len(builder.add(up(T0 + timedelta(seconds=i))))
    assert emitted == 999
    assert builder._open is not None and builder._open.up <= 10
