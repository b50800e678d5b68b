"""A recorded source: a session's rollups turned back into the samples the collectors produce.

Replay, resume and the draft's pictures feed these through the same live state as live data,
so a recorded window is drawn by exactly the code that drew it live. A rollup keeps a window's
figures, not its samples; each one becomes a few samples that reproduce those figures: the
connection count's last value and range, the round trip's p50/p95/p99/max, the refusals by
kind, the down status and its cause, and the host and PgBouncer figures at the window's end.
Schema-1 rollups hold less, and what they lack stays unknown (shown as "—"), never invented.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from warroom.collectors.bouncer_sample import BouncerSample, PoolStats
from warroom.collectors.host import HostSample
from warroom.collectors.sample import (
    Connections,
    Count,
    Failure,
    FailureKind,
    PgSample,
    ReplicaLink,
    Replication,
)
from warroom.sessions.model import SampleRollup, Window
from warroom.sessions.rollups import Blocks, RollupHead

# Enough samples per window for the live state's 30-second percentiles to come out as recorded.
MAX_SAMPLES_PER_ROLLUP = 10
RECORDED = "recorded"  # the message of failures rebuilt from a rollup
_SQLSTATE = {
    FailureKind.TOO_MANY_CONNECTIONS: "53300",
    FailureKind.SHUTTING_DOWN: "57P03",
}

Sample = PgSample | HostSample | BouncerSample


def _kind(value: str | None, default: FailureKind) -> FailureKind:
    try:
        return FailureKind(value) if value else default
    except ValueError:
        return FailureKind.OTHER


def _failure(kind: FailureKind) -> Failure:
    return Failure(kind, RECORDED, _SQLSTATE.get(kind))


def _spread(knots: Sequence[tuple[float, float | None]], n: int) -> list[float | None]:
    """``n`` values whose quantiles follow ``knots`` ((fraction, value), fraction ascending)."""
    known = [(q, v) for q, v in knots if v is not None]
    if not known:
        return [None] * n
    out: list[float | None] = []
    for i in range(n):
        q = i / (n - 1) if n > 1 else 1.0
        below = [(kq, kv) for kq, kv in known if kq <= q]
        above = [(kq, kv) for kq, kv in known if kq >= q]
        if not below:
            out.append(above[0][1])
        elif not above:
            out.append(below[-1][1])
        else:
            (q0, v0), (q1, v1) = below[-1], above[0]
            out.append(v0 if q1 == q0 else v0 + (v1 - v0) * (q - q0) / (q1 - q0))
    return out


def _connections(r: SampleRollup, total: int) -> Connections | None:
    if r.max_connections is None:
        return None
    usable = r.usable_slots or r.max_connections
    return Connections(
        total=total,
        max=r.max_connections,
        reserved=max(r.max_connections - usable, 0),
        by_state=dict(r.by_state),
        waiting=r.waiting or 0,
        by_application=tuple(Count(name, count) for name, count in r.top_apps),
        by_user=tuple(Count(name, count) for name, count in r.top_users),
        by_client=tuple(Count(name, count) for name, count in r.top_clients),
        by_group=r.top_groups,
    )


def _replication(r: SampleRollup) -> Replication | None:
    """The window's role and worst lag, as the live sample would carry them.

    A rollup keeps one worst figure, not each standby: a primary's comes back as one standby
    row that says so.
    """
    if r.role is None:
        return None
    if r.role == "replica":
        return Replication("replica", lag_bytes=r.lag_bytes, lag_s=r.lag_s,
                           replay_paused=r.repl_state == "paused",
                           receiving=r.repl_state != "disconnected")  # fmt: skip
    if r.lag_bytes is None and r.lag_s is None:
        return Replication("primary")
    worst = ReplicaLink(RECORDED_STANDBY, "", "streaming", "", None, r.lag_bytes, None, None,
                        r.lag_s)  # fmt: skip
    return Replication("primary", replicas=(worst,))


RECORDED_STANDBY = "worst standby (recorded)"


def samples_of(r: SampleRollup, dense: bool = True) -> list[Sample]:
    """The samples that reproduce one rollup, in time order, inside its window.

    ``dense=False`` gives a few samples carrying the window's peaks, spread over it (for chart
    history: one point every few seconds, so no chart column up to ~180 wide is left empty),
    several times cheaper to feed.
    """
    if not dense:
        return _peak_sample(r)
    n = max(1, min(r.samples or 1, MAX_SAMPLES_PER_ROLLUP))
    step = r.seconds / n
    times = [r.at + timedelta(seconds=step * (i + 0.5)) for i in range(n)]
    up = {"up": n, "down": 0}.get(r.status, max(n // 2, 1))
    down_failure = _failure(_kind(r.down_kind, FailureKind.UNREACHABLE))
    queries = _spread(
        [(0.0, r.query_p50_ms), (0.5, r.query_p50_ms), (0.95, r.query_p95_ms),
         (0.99, r.query_p99_ms), (1.0, r.query_max_ms)],
        up,
    )  # fmt: skip
    # Connection counts: the range first, the last value last (it is what the pane shows).
    last = r.conn_last if r.conn_last is not None else r.conn_max
    counts: list[int | None] = [None] * up
    if last is not None:
        middle = round(r.conn_mean) if r.conn_mean is not None else last
        counts = [middle] * up
        if up > 2 and r.conn_min is not None:
            counts[0] = r.conn_min
        if up > 1 and r.conn_max is not None:
            counts[-2 if up > 2 else 0] = r.conn_max
        counts[-1] = last
    refusals: list[FailureKind] = []
    for kind, count in r.refused_by or ((FailureKind.TOO_MANY_CONNECTIONS.value, r.refused),):
        refusals.extend([_kind(kind, FailureKind.TOO_MANY_CONNECTIONS)] * count)
    refusals = refusals[:n]
    out: list[Sample] = []
    repl = _replication(r)
    for i, at in enumerate(times):
        refused = refusals[i] if i < len(refusals) else None
        if i >= up:
            error = _failure(refused) if refused is not None else down_failure
            out.append(PgSample(at=at, status="down", error=error))
            continue
        total = counts[i]
        connect = r.connect_max_ms if i == 0 and up > 1 else r.connect_ms
        if connect is None and i == up - 1:
            connect = r.connect_max_ms
        out.append(
            PgSample(
                at=at,
                status="up",
                connections=_connections(r, total) if total is not None else None,
                query_ms=queries[i],
                connect_ms=None if refused is not None else connect,
                probe_error=_failure(refused) if refused is not None else None,
                tps=r.tps,
                replication=repl,
            )
        )
    end = times[-1]
    if r.host_cpu is not None or r.host_mem is not None or r.host_tcp:
        out.append(
            HostSample(
                at=end,
                cpu_percent=r.host_cpu,
                mem_percent=r.host_mem,
                swap_percent=r.host_swap,
                load1=r.host_load,
                load5=r.host_load,  # the rollup keeps the 1-minute load only
                load15=r.host_load,
                tcp_by_state=dict(r.host_tcp),
                tcp_at=end if r.host_tcp else None,
            )
        )
    if r.bouncer_pools or r.bouncer_error or r.bouncer_waiting is not None:
        pools = tuple(
            PoolStats(
                database=p.name.partition("/")[0], user=p.name.partition("/")[2],
                cl_active=p.cl_active, cl_waiting=p.cl_waiting, sv_active=p.sv_active,
                sv_idle=p.sv_idle, maxwait_s=p.maxwait_s,
            )
            for p in r.bouncer_pools
        )  # fmt: skip
        error = _failure(_kind(r.bouncer_error, FailureKind.OTHER)) if r.bouncer_error else None
        out.append(
            BouncerSample(at=end, status="down" if error else "up", error=error, pools=pools)
        )
    return out


PEAK_SAMPLES = 3


def _peak_sample(r: SampleRollup) -> list[Sample]:
    step = r.seconds / PEAK_SAMPLES
    return [
        replace(sample, at=r.at + timedelta(seconds=step * (i + 0.5)))
        for i in range(PEAK_SAMPLES)
        for sample in _peak_one(r)
    ]


def _peak_one(r: SampleRollup) -> list[Sample]:
    at = r.at
    if r.status == "down":
        return [PgSample(at=at, status="down",
                         error=_failure(_kind(r.down_kind, FailureKind.UNREACHABLE)))]
    refused = next((_kind(k, FailureKind.TOO_MANY_CONNECTIONS) for k, _ in r.refused_by), None)
    if refused is None and r.refused:
        refused = FailureKind.TOO_MANY_CONNECTIONS
    total = r.conn_max if r.conn_max is not None else r.conn_last
    return [PgSample(
        at=at, status="up",
        connections=_connections(r, total) if total is not None else None,
        query_ms=r.query_p95_ms if r.query_p95_ms is not None else r.query_max_ms,
        connect_ms=r.connect_ms, probe_error=_failure(refused) if refused else None, tps=r.tps,
        replication=_replication(r),
    )]  # fmt: skip


def _one_server(rollups: Sequence[Window], server: str | None, known: Window | None) -> str | None:
    """The one server ``rollups`` name (with ``known``'s, when there is one); ValueError if not."""
    names = {r.server for r in rollups}
    if known is not None:
        names.add(server)
    if len(names) > 1:
        shown = ", ".join(sorted(repr(n) for n in names))
        raise ValueError(f"a Recording replays one server's rollups, not several ({shown}); "
                         "split them with rollups_by_server()")
    return next(iter(names), server)


class Recording:
    """One server's rollups, ordered, with the samples of any stretch of time on demand.

    With several servers a session holds one rollup per server per window; give this one
    server's (``rollups_by_server``, ``first_server_rollups``). Two servers' windows fed as one
    series would zigzag between them, and ``extend`` would drop every window but the first
    server's, so a mix is refused rather than drawn.

    It may start from blocks not decoded yet (the heads of ``blocks``, sessions.rollups): a
    stretch of time decodes its blocks the first time it is asked for, and ``install`` puts in
    a whole decode someone made elsewhere. A block that does not decode leaves its window empty
    (what is wrong with it is for that whole decode to say: see ``tui.replay``).
    """

    def __init__(
        self, items: Sequence[SampleRollup | RollupHead], blocks: Blocks | None = None
    ) -> None:
        if blocks is None and any(isinstance(r, RollupHead) for r in items):
            raise ValueError("a Recording of undecoded blocks needs the blocks")
        self.server: str | None = _one_server(items, None, None)
        self._items: list[SampleRollup | RollupHead] = sorted(items, key=lambda r: r.at)
        self._starts = [r.at for r in self._items]
        self._blocks = blocks
        self._bad: set[int] = set()  # blocks that do not decode: their windows stay empty

    @property
    def rollups(self) -> list[SampleRollup]:
        """Every rollup, in time order (decoding what is not yet)."""
        self._decode(0, len(self._items))
        return [r for r in self._items if isinstance(r, SampleRollup)]

    @property
    def undecoded(self) -> int:
        return sum(isinstance(r, RollupHead) for r in self._items)

    def install(self, decoded: Mapping[int, SampleRollup]) -> None:
        """Rollups someone decoded from the same blocks, by block index."""
        self._items = [decoded.get(r.index, r) if isinstance(r, RollupHead) else r
                       for r in self._items]  # fmt: skip

    def extend(self, rollups: Sequence[SampleRollup]) -> None:
        """Newer rollups (a session still being written); older or known ones are ignored."""
        self.server = _one_server(rollups, self.server, self._items[0] if self._items else None)
        latest = self._starts[-1] if self._starts else None
        for r in sorted(rollups, key=lambda r: r.at):
            if latest is None or r.at > latest:
                self._items.append(r)
                self._starts.append(r.at)
                latest = r.at

    @property
    def start(self) -> datetime | None:
        return self._items[0].at if self._items else None

    @property
    def end(self) -> datetime | None:
        return self._items[-1].end if self._items else None

    def between(self, start: datetime, end: datetime, dense: bool = True) -> Iterator[Sample]:
        """Samples of the rollups whose window ends after ``start`` and starts before ``end``."""
        first = bisect.bisect_left(self._starts, start - timedelta(seconds=self._longest()))
        self._decode(first, bisect.bisect_left(self._starts, end))
        for r in self._items[first:]:
            if r.at >= end:
                break
            if r.end <= start or not isinstance(r, SampleRollup):
                continue
            for sample in samples_of(r, dense):
                if sample.at <= end:
                    yield sample

    def _decode(self, lo: int, hi: int) -> None:
        """Decode the blocks among items ``lo:hi`` not decoded yet, in one read."""
        if self._blocks is None:
            return
        todo = {item.index: i for i in range(lo, hi)
                if isinstance(item := self._items[i], RollupHead) and item.index not in self._bad}
        if not todo:
            return
        good, _ = self._blocks.decode_good(list(todo))
        self._bad.update(index for index in todo if index not in good)
        for index, rollup in good.items():
            self._items[todo[index]] = rollup

    def _longest(self) -> float:
        return max((r.seconds for r in self._items[-3:]), default=10.0)


class RecordedServer:
    """One server's recording as a source, like a collector: ``sample()`` on a clock.

    A collector's ``sample()`` returns what the server says now; this one returns what the
    recording says happened between the previous call and the clock's now (the samples the
    collector would have returned meanwhile, in order), so a virtual clock that moves drives
    it exactly as the wall clock drives a poller. ``history`` is what a state shows on arrival
    at a moment (the chart span before it); ``rewind`` places the source there.
    """

    def __init__(self, recording: Recording, clock: Callable[[], datetime]) -> None:
        self.recording = recording
        self._clock = clock
        self._last = clock()

    def sample(self) -> list[Sample]:
        now = self._clock()
        last, self._last = self._last, now
        if now <= last:
            return []
        return [s for s in self.recording.between(last, now) if last < s.at <= now]

    def history(self, at: datetime, span_s: float, dense_s: float) -> list[Sample]:
        """The ``span_s`` seconds before ``at``: at the windows' peaks, then (the last
        ``dense_s``) sample by sample, as the latency percentiles and hysteresis need them."""
        dense_from = at - timedelta(seconds=dense_s)
        sparse = self.recording.between(at - timedelta(seconds=span_s), dense_from, False)
        out = [s for s in sparse if s.at <= dense_from]
        return out + [s for s in self.recording.between(dense_from, at) if s.at > dense_from]

    def rewind(self, at: datetime) -> None:
        self._last = at

    def close(self) -> None:
        """Nothing open: a recording is read, never held."""
