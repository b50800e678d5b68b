"""Bounded history: ring buffers of (time, value), window statistics, and 10-second rollups.

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

from warroom.collectors.sample import Connections, FailureKind, PgSample

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


class Series:
    """The last ``maxlen`` (time, value) points; the oldest fall off as new ones arrive.

    Times are epoch seconds (datetimes are converted). Points are expected in time order, as a
    poller produces them; ``window`` relies on that to stop scanning at the first old point.
    """

    __slots__ = ("_points",)

    def __init__(self, maxlen: int = DEFAULT_MAXLEN) -> None:
        if maxlen < 1:
            raise ValueError("a series needs room for at least one point")
        self._points: deque[tuple[float, float]] = deque(maxlen=maxlen)

    def append(self, at: datetime | float, value: float) -> None:
        self._points.append((_timestamp(at), float(value)))

    def __len__(self) -> int:
        return len(self._points)

    @property
    def maxlen(self) -> int:
        maxlen = self._points.maxlen
        assert maxlen is not None
        return maxlen

    def points(self) -> list[tuple[float, float]]:
        return list(self._points)

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


@dataclass(frozen=True, slots=True)
class Rollup:
    """One closed window of samples. Field names match ``warroom.sessions.model.SampleRollup``.

    ``at`` is the window start (a wall-clock multiple of ``seconds``, UTC). ``status`` is ``up``
    when every sample in the window was up, ``down`` when none was, ``partial`` otherwise.
    Connection counts and latencies come from the samples that were up. ``refused`` counts the
    samples in which a new connection failed: the connect probe reported an error, or the
    monitor itself was turned away (too many connections, shutting down).
    """

    at: datetime
    seconds: float = 10.0
    samples: int = 0
    status: str = "up"
    conn_min: int | None = None
    conn_mean: float | None = None
    conn_max: int | None = None
    max_connections: int | None = None
    query_p50_ms: float | None = None
    query_p95_ms: float | None = None
    query_max_ms: float | None = None
    connect_max_ms: float | None = None
    refused: int = 0
    # What the panes need to redraw the window (session schema 2).
    conn_last: int | None = None
    usable: int | None = None
    waiting: int | None = None
    by_state: tuple[tuple[str, int], ...] = ()
    top_apps: tuple[tuple[str, int], ...] = ()
    query_p99_ms: float | None = None
    connect_ms: float | None = None
    refused_by: tuple[tuple[str, int], ...] = ()
    down_kind: str | None = None
    tps: float | None = None
    host_cpu: float | None = None
    host_mem: float | None = None
    host_swap: float | None = None
    host_load: float | None = None
    host_tcp: tuple[tuple[str, int], ...] = ()
    bouncer_waiting: int | None = None
    bouncer_maxwait_s: float | None = None
    bouncer_error: str | None = None
    # (name, cl_active, cl_waiting, sv_active, sv_idle, maxwait_s) of the busiest pools
    bouncer_pools: tuple[tuple[str, int, int, int, int, float], ...] = ()
    server: str | None = None
    role: str | None = None
    lag_bytes: int | None = None
    lag_s: float | None = None
    repl_state: str | None = None


TOP_APPS_KEPT = 5
BUSIEST_POOLS_KEPT = 3


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
    bouncer_pools: tuple[tuple[str, int, int, int, int, float], ...] = ()


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


class RollupBuilder:
    """Turns a stream of PgSamples into one Rollup per closed, wall-clock-aligned window.

    A window closes when the first sample of a later window arrives, so a rollup is emitted one
    sample late; windows without samples (the app was suspended, the poller stalled) are skipped,
    not invented. A sample older than the open window (clock stepped back) joins the open window
    rather than reopening a closed one, so rollups stay in order.
    """

    __slots__ = ("_open", "extra", "seconds", "server")

    def __init__(self, seconds: float = 10.0, server: str | None = None) -> None:
        if seconds <= 0:
            raise ValueError("rollup windows must be longer than zero seconds")
        self.seconds = float(seconds)
        self.server = server  # named in each rollup when several servers are watched
        self._open: _Open | None = None
        # The newest host and PgBouncer figures; each closed window carries what was latest.
        self.extra = Extra()

    def _start_of(self, at: datetime) -> float:
        ts = _timestamp(at)
        return math.floor(ts / self.seconds) * self.seconds

    def add(self, sample: PgSample) -> list[Rollup]:
        start = self._start_of(sample.at)
        closed: list[Rollup] = []
        if self._open is not None and start > self._open.start:
            closed.append(self._close())
        if self._open is None:
            self._open = _Open(start)
        self._open.add(sample)
        return closed

    def flush(self) -> list[Rollup]:
        """Close the partial window (at shutdown); empty when nothing is pending."""
        return [self._close()] if self._open is not None else []

    def _close(self) -> Rollup:
        window = self._open
        assert window is not None
        self._open = None
        up = window.up
        total = up + window.down
        status = "up" if window.down == 0 else ("down" if up == 0 else "partial")
        conns = window.conns
        query = Window.of(window.query_ms)
        last = window.last_conns
        extra = self.extra
        return Rollup(
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
        )
