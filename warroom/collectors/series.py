"""Bounded history: ring buffers of (time, value), window statistics, and 10-second rollups
(``SampleRollup``, built here, stored as they are by the session record).

Memory is flat with incident length: every buffer is a ``deque(maxlen=...)``, and the rollup
builder keeps only the samples of the window still open. Percentiles interpolate linearly
between closest ranks (numpy's default), so p50 of ``[1, 2]`` is 1.5.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from warroom.collectors.sample import Connections, FailureKind, Group, PgSample
from warroom.rollup import (
    PoolFigure,
    RefusedFigure,
    SampleRollup,
    group_of_row,
    group_row,
)

if TYPE_CHECKING:  # the serverlog package brings psycopg; the builder only adds up its counts
    from warroom.collectors.serverlog.counts import LogCounts

# One sample a second for an hour; a caller polling faster or wanting more history passes maxlen.
DEFAULT_MAXLEN = 3600


def _timestamp(at: datetime | float) -> float:
    # Naive datetimes are taken as UTC, like the rest of warroom, never as local time.
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at.timestamp()
    return float(at)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The ``fraction`` (0..1) quantile of an already sorted, non-empty sequence."""
    if not ordered:
        raise ValueError("percentile of an empty sequence")
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Window:
    """Statistics of the points in a time window; every figure is None when it is empty."""

    count: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None

    @classmethod
    def of(cls, values: Iterable[float]) -> Window:
        ordered = sorted(values)
        if not ordered:
            return cls()
        return cls(
            count=len(ordered),
            min=ordered[0],
            max=ordered[-1],
            mean=math.fsum(ordered) / len(ordered),
            p50=percentile(ordered, 0.50),
            p95=percentile(ordered, 0.95),
            p99=percentile(ordered, 0.99),
        )


class _Peaks:
    """A chart's columns, kept as points arrive: the peak of each ``step`` seconds (spikes
    matter), the columns anchored to multiples of ``step`` since the epoch.

    Anchored, a column's peak never changes once its time is past: a point costs one update
    and a chart one lookup per column, however long the dashboard has run (bucketing the
    span's points afresh every second was a pass over 600 of them per chart at ten minutes).
    The picture moves one column to the left every ``step`` seconds, not a little every second.
    """

    __slots__ = ("by_column", "keep", "step")

    def __init__(self, step: float, keep: int, points: Iterable[tuple[float, float]]) -> None:
        self.step = step
        self.keep = keep  # columns a chart shows; twice as many are held before any is dropped
        self.by_column: dict[int, float] = {}
        for at, value in points:
            self.add(at, value)

    def add(self, at: float, value: float) -> None:
        column = math.floor(at / self.step)
        peaks = self.by_column
        current = peaks.get(column)
        if current is None or value > current:
            peaks[column] = value
        if len(peaks) > 2 * self.keep:
            self.by_column = {c: v for c, v in peaks.items() if c > column - self.keep}

    def columns(self, now: float, width: int) -> tuple[float | None, ...]:
        last = math.floor(now / self.step)
        get = self.by_column.get
        return tuple(get(c) for c in range(last - width + 1, last + 1))


class Series:
    """The last ``maxlen`` (time, value) points; the oldest fall off as new ones arrive.

    Times are epoch seconds (datetimes are converted). Points are expected in time order, as a
    poller produces them; ``window`` relies on that to stop scanning at the first old point.
    """

    __slots__ = ("_peaks", "_points")

    def __init__(self, maxlen: int = DEFAULT_MAXLEN) -> None:
        if maxlen < 1:
            raise ValueError("a series needs room for at least one point")
        self._points: deque[tuple[float, float]] = deque(maxlen=maxlen)
        self._peaks: _Peaks | None = None  # the chart's columns, once a chart has asked

    def append(self, at: datetime | float, value: float) -> None:
        point = (_timestamp(at), float(value))
        self._points.append(point)
        if self._peaks is not None:
            self._peaks.add(*point)

    def __len__(self) -> int:
        return len(self._points)

    @property
    def maxlen(self) -> int:
        maxlen = self._points.maxlen
        assert maxlen is not None
        return maxlen

    def points(self) -> list[tuple[float, float]]:
        return list(self._points)

    def columns(self, now: float, span: float, width: int) -> tuple[float | None, ...]:
        """A chart of the last ``span`` seconds in ``width`` columns, the last one holding
        ``now``: each column's peak, None where nothing was sampled (a gap shows).

        Kept as points arrive for the width last asked (a resize builds it once afresh from
        the points held); ``Chart`` is how a pane asks.
        """
        if width <= 0 or span <= 0:
            return ()
        step = span / width
        peaks = self._peaks
        if peaks is None or peaks.step != step:
            peaks = self._peaks = _Peaks(step, width, self._points)
        return peaks.columns(now, width)

    def last(self) -> tuple[float, float] | None:
        return self._points[-1] if self._points else None

    def values(self, seconds: float, now: datetime | float | None = None) -> list[float]:
        """Values of points newer than ``now - seconds`` (``now`` defaults to the newest point)."""
        if not self._points:
            return []
        end = self._points[-1][0] if now is None else _timestamp(now)
        start = end - seconds
        found: list[float] = []
        for at, value in reversed(self._points):
            if at <= start:
                break
            if at <= end:
                found.append(value)
        found.reverse()
        return found

    def window(self, seconds: float, now: datetime | float | None = None) -> Window:
        """Statistics over the last ``seconds`` (ending at ``now``, default the newest point)."""
        return Window.of(self.values(seconds, now))


@dataclass(frozen=True, slots=True, eq=False)
class Chart:
    """What a pane charts: one series' last ``span_s`` seconds, ending at ``now``. The pane
    knows its width; the series keeps the columns for it (``Series.columns``)."""

    series: Series
    now: float
    span_s: float

    def columns(self, width: int) -> tuple[float | None, ...]:
        return self.series.columns(self.now, self.span_s, width)


TOP_APPS_KEPT = 5
TOP_HOLDERS_KEPT = 5  # users, client addresses and groups, each
BUSIEST_POOLS_KEPT = 3
REFUSED_GROUPS_KEPT = 3


@dataclass(frozen=True, slots=True)
class Extra:
    """Host and PgBouncer figures of a window: whatever the latest sample said."""

    host_cpu: float | None = None
    host_mem: float | None = None
    host_swap: float | None = None
    host_load: float | None = None
    host_tcp: tuple[tuple[str, int], ...] = ()
    bouncer_waiting: int | None = None
    bouncer_maxwait_s: float | None = None
    bouncer_error: str | None = None
    bouncer_pools: tuple[PoolFigure, ...] = ()


# Failures that mean "the server turned a new connection away", as opposed to "no answer".
_REFUSALS = frozenset({FailureKind.TOO_MANY_CONNECTIONS, FailureKind.SHUTTING_DOWN})


class _Open:
    """The samples of the window still open, reduced to what a rollup needs."""

    __slots__ = (
        "connect_ms",
        "conns",
        "down",
        "down_kind",
        "lag_bytes",
        "lag_s",
        "last_connect_ms",
        "last_conns",
        "query_ms",
        "refused",
        "refused_by",
        "repl_state",
        "role",
        "start",
        "tps",
        "up",
    )

    def __init__(self, start: float) -> None:
        self.start = start
        self.conns: list[int] = []
        self.query_ms: list[float] = []
        self.connect_ms: list[float] = []
        self.tps: list[float] = []
        self.up = 0
        self.down = 0
        self.refused = 0
        self.refused_by: dict[str, int] = {}
        self.down_kind: str | None = None
        self.last_conns: Connections | None = None
        self.last_connect_ms: float | None = None
        self.role: str | None = None
        self.lag_bytes: int | None = None
        self.lag_s: float | None = None
        self.repl_state: str | None = None

    def add_replication(self, sample: PgSample) -> None:
        """The window keeps its worst lag: a spike between two rollups must not vanish."""
        repl = sample.replication
        if repl is None:
            self.role = sample.role or self.role
            return
        self.role = repl.role
        lag_b, lag_s = repl.max_lag_bytes, repl.max_lag_s
        if lag_b is not None:
            self.lag_bytes = lag_b if self.lag_bytes is None else max(self.lag_bytes, lag_b)
        if lag_s is not None:
            self.lag_s = lag_s if self.lag_s is None else max(self.lag_s, lag_s)
        if repl.role == "replica":
            self.repl_state = (
                "paused" if repl.replay_paused
                else "streaming" if repl.receiving else "disconnected"
            )  # fmt: skip

    def add(self, sample: PgSample) -> None:
        refusal = sample.probe_error
        if refusal is None and sample.error is not None and sample.error.kind in _REFUSALS:
            refusal = sample.error
        if refusal is not None:
            self.refused += 1
            kind = refusal.kind.value
            self.refused_by[kind] = self.refused_by.get(kind, 0) + 1
        if not sample.up:
            self.down += 1
            if sample.error is not None:
                self.down_kind = sample.error.kind.value
            return
        self.up += 1
        self.add_replication(sample)
        if sample.connections is not None:
            self.conns.append(sample.connections.total)
            self.last_conns = sample.connections
        if sample.query_ms is not None:
            self.query_ms.append(sample.query_ms)
        if sample.connect_ms is not None:
            self.connect_ms.append(sample.connect_ms)
            self.last_connect_ms = sample.connect_ms
        if sample.tps is not None:
            self.tps.append(sample.tps)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class _LogTally:
    """The server log's counts read during one window, added up (a few reads a window)."""

    __slots__ = ("counts", "refused", "source")

    def __init__(self) -> None:
        self.source: str | None = None
        self.counts: dict[str, int] = {}
        self.refused: dict[tuple[str, str, str], int] = {}

    def add(self, counts: LogCounts) -> None:
        if counts.source is None:
            return  # a read that found no log says nothing about the window
        self.source = counts.source
        for kind, n in counts.totals.items():
            if n:
                self.counts[kind] = self.counts.get(kind, 0) + n
        for group in counts.top.get("refused", ()):
            key = (group.user, group.database, group.client)
            self.refused[key] = self.refused.get(key, 0) + group.count

    def merge(self, other: _LogTally) -> None:
        self.source = other.source or self.source
        for kind, n in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        for key, n in other.refused.items():
            self.refused[key] = self.refused.get(key, 0) + n


# Log windows kept while no sample closes them (the poller stalled): an hour of 10 s windows.
_LOG_WINDOWS_KEPT = 360


class RollupBuilder:
    """Turns a stream of PgSamples into one Rollup per closed, wall-clock-aligned window.

    A window closes when the first sample of a later window arrives, so a rollup is emitted one
    sample late; windows without samples (the app was suspended, the poller stalled) are skipped,
    not invented. A sample older than the open window (clock stepped back) joins the open window
    rather than reopening a closed one, so rollups stay in order.
    """

    __slots__ = ("_logs", "_open", "extra", "seconds", "server")

    def __init__(self, seconds: float = 10.0, server: str | None = None) -> None:
        if seconds <= 0:
            raise ValueError("rollup windows must be longer than zero seconds")
        self.seconds = float(seconds)
        self.server = server  # named in each rollup when several servers are watched
        self._open: _Open | None = None
        # The server log's reads by the start of the window they were read in.
        self._logs: dict[float, _LogTally] = {}
        # The newest host and PgBouncer figures; each closed window carries what was latest.
        self.extra = Extra()

    def _start_of(self, at: datetime) -> float:
        ts = _timestamp(at)
        return math.floor(ts / self.seconds) * self.seconds

    def add(self, sample: PgSample) -> list[SampleRollup]:
        start = self._start_of(sample.at)
        closed: list[SampleRollup] = []
        if self._open is not None and start > self._open.start:
            closed.append(self._close())
        if self._open is None:
            self._open = _Open(start)
        self._open.add(sample)
        return closed

    def add_server_log(self, counts: LogCounts, at: datetime) -> None:
        """A window of the server's own log, read at ``at``: it counts in the rollup of the
        window ``at`` falls in (or the next one closed, when that window had no sample)."""
        start = self._start_of(at)
        tally = self._logs.get(start)
        if tally is None:
            if len(self._logs) >= _LOG_WINDOWS_KEPT:
                del self._logs[min(self._logs)]
            tally = self._logs[start] = _LogTally()
        tally.add(counts)

    def _take_logs(self, until: float) -> _LogTally:
        taken = _LogTally()
        for start in sorted(s for s in self._logs if s <= until):
            taken.merge(self._logs.pop(start))
        return taken

    def flush(self) -> list[SampleRollup]:
        """Close the partial window (at shutdown); empty when nothing is pending."""
        return [self._close()] if self._open is not None else []

    def _close(self) -> SampleRollup:
        window = self._open
        assert window is not None
        self._open = None
        log = self._take_logs(window.start)
        refused_top = sorted(log.refused.items(), key=lambda kv: -kv[1])[:REFUSED_GROUPS_KEPT]
        up = window.up
        total = up + window.down
        status = "up" if window.down == 0 else ("down" if up == 0 else "partial")
        conns = window.conns
        query = Window.of(window.query_ms)
        last = window.last_conns
        extra = self.extra
        return SampleRollup(
            at=datetime.fromtimestamp(window.start, tz=UTC),
            seconds=self.seconds,
            samples=total,
            status=status,
            conn_min=min(conns) if conns else None,
            conn_mean=round(math.fsum(conns) / len(conns), 2) if conns else None,
            conn_max=max(conns) if conns else None,
            max_connections=last.max if last else None,
            query_p50_ms=_round(query.p50, 3),
            query_p95_ms=_round(query.p95, 3),
            query_max_ms=_round(query.max, 3),
            connect_max_ms=_round(max(window.connect_ms), 3) if window.connect_ms else None,
            refused=window.refused,
            conn_last=last.total if last else None,
            usable=last.usable if last else None,
            waiting=last.waiting if last else None,
            by_state=tuple(sorted(last.by_state.items(), key=lambda kv: -kv[1])) if last else (),
            top_apps=tuple((c.name, c.count) for c in last.by_application[:TOP_APPS_KEPT])
            if last
            else (),
            query_p99_ms=_round(query.p99, 3),
            connect_ms=_round(window.last_connect_ms, 3),
            refused_by=tuple(sorted(window.refused_by.items())),
            down_kind=window.down_kind,
            tps=round(math.fsum(window.tps) / len(window.tps), 2) if window.tps else None,
            host_cpu=extra.host_cpu,
            host_mem=extra.host_mem,
            host_swap=extra.host_swap,
            host_load=extra.host_load,
            host_tcp=extra.host_tcp,
            bouncer_waiting=extra.bouncer_waiting,
            bouncer_maxwait_s=extra.bouncer_maxwait_s,
            bouncer_error=extra.bouncer_error,
            bouncer_pools=extra.bouncer_pools,
            server=self.server,
            role=window.role,
            lag_bytes=window.lag_bytes,
            lag_s=_round(window.lag_s, 1),
            repl_state=window.repl_state,
            top_users=tuple((c.name, c.count) for c in last.by_user[:TOP_HOLDERS_KEPT])
            if last
            else (),
            top_clients=tuple((c.name, c.count) for c in last.by_client[:TOP_HOLDERS_KEPT])
            if last
            else (),
            top_groups=tuple(_kept(g) for g in last.by_group[:TOP_HOLDERS_KEPT]) if last else (),
            log_source=log.source,
            log_counts=tuple(sorted(log.counts.items())),
            log_refused_top=tuple(RefusedFigure(user, database, client, n)
                                  for (user, database, client), n in refused_top),
        )


def _kept(group: Group) -> Group:
    """A holder as a rollup keeps it (and the file gives it back): its count, its busiest
    client address and how many addresses in all."""
    return group_of_row(*group_row(group))
