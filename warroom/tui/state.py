"""The dashboard's live data path, without Textual: samples in, views and record changes out.

Everything the app learns from a source (the live collectors, or a recording replayed) goes
through ``LiveState``; the widgets get the plain views it builds. Feeding it writes nothing: it
returns the alert transitions and closed rollups as data, and only a recording app hands them
to the Recorder. Keeping this free of the UI lets replay, resume and the benchmark push samples
through exactly the code the app runs, and keeps memory flat (bounded series only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from warroom.collectors.alerts import AlertConfig, AlertEngine, AlertEvent
from warroom.collectors.bouncer_sample import BouncerSample
from warroom.collectors.downtime import DownTracker
from warroom.collectors.findings import FindingEvent, FindingsEngine
from warroom.collectors.host import HostSample
from warroom.collectors.replication_watch import ReplicationWatch
from warroom.collectors.sample import PgSample, ServerChange
from warroom.collectors.series import BUSIEST_POOLS_KEPT, Chart, Extra, RollupBuilder, Series
from warroom.formats import format_bytes, lag_text, ms
from warroom.sanitize import one_line
from warroom.sessions.model import PoolFigure, SampleRollup
from warroom.widgets.views import (
    BouncerView,
    ConnectionsView,
    FindingsView,
    HostView,
    LatencyView,
    PoolRow,
    ReplicationView,
    ServerRow,
)

if TYPE_CHECKING:  # the serverlog package brings psycopg; the state only holds its counts
    from warroom.collectors.serverlog.counts import LogCounts

# The charts show the last ten minutes at any width; a series holds 3,600 points, twelve
# minutes at the shortest interval (0.2 s), so a chart always fills.
CHART_SPAN_S = 600.0
HISTORY_POINTS = 3600
REFUSAL_WINDOW_S = 60.0  # "refused" counts the last minute's refused probes
TOP_APPS = 12

Sample = PgSample | HostSample | BouncerSample


@dataclass(slots=True)
class Fed:
    """What one sample changed in the record: alert transitions and closed rollups."""

    events: list[AlertEvent] = field(default_factory=list)
    rollups: list[SampleRollup] = field(default_factory=list)
    findings: list[FindingEvent] = field(default_factory=list)  # raise/clear transitions
    changes: list[ServerChange] = field(default_factory=list)  # restarts, reloads, promotions


class LiveState:
    """One server's data path; with several servers the app keeps one per server."""

    def __init__(
        self,
        alerts: AlertConfig | None = None,
        rollup_seconds: float = 10.0,
        server: str | None = None,
        findings: type[FindingsEngine] | None = FindingsEngine,
    ) -> None:
        """``findings``: the engine that runs the findings rules on what is fed, or None where
        the session builder has the findings said otherwise (a replay: from the record)."""
        self.server = server  # named in its rollups when several servers are watched
        self.conns = Series(HISTORY_POINTS)
        self.query_ms = Series(HISTORY_POINTS)
        self.refusals = Series(HISTORY_POINTS)
        self.server_refusals = Series(HISTORY_POINTS)  # per log window, from the server's log
        self.server_log: LogCounts | None = None
        self.latest: PgSample | None = None
        self.last_up: PgSample | None = None
        self.downtime = DownTracker()
        self.host: HostSample | None = None
        self.bouncer: BouncerSample | None = None
        config = alerts or AlertConfig()
        self.engine = AlertEngine(config)
        self.engine_window_s = config.latency_window_s
        self.rollup_seconds = rollup_seconds
        self.rollups = RollupBuilder(rollup_seconds, server=server)
        self.findings = findings(config.findings) if findings is not None else None
        self.standbys = ReplicationWatch()

    # -- input ---------------------------------------------------------------------------

    def feed(self, sample: PgSample) -> Fed:
        """A new sample: what it changed, and the rollups it closed (to be recorded)."""
        fed = self._take(sample)
        fed.rollups = self.rollups.add(sample)
        return fed

    def _take(self, sample: PgSample) -> Fed:
        """Series, alerts, findings and server changes: everything a sample feeds but rollups."""
        self.latest = sample
        self.downtime.track(sample)
        if sample.up:
            self.last_up = sample
            if sample.connections is not None:
                self.conns.append(sample.at, sample.connections.total)
            if sample.query_ms is not None:
                self.query_ms.append(sample.at, sample.query_ms)
        refused = sample.probe_error is not None
        self.refusals.append(sample.at, 1.0 if refused else 0.0)
        p95 = self.query_ms.window(self.engine_window_s, sample.at).p95
        events = self.engine.evaluate(sample, query_p95_ms=p95, bouncer=self.bouncer)
        findings = self.findings.feed(sample) if self.findings is not None else []
        changes = [*sample.changes, *self.standbys.feed(sample)]
        return Fed(events=events, findings=findings, changes=changes)

    def feed_server_log(self, counts: LogCounts, at: datetime) -> None:
        """A window of the server's own log, read at ``at``: its refusals, and the findings."""
        self.server_log = counts
        self.rollups.add_server_log(counts, at)
        if counts.source is not None:
            self.server_refusals.append(at, counts.totals.get("refused", 0))
        if self.findings is not None:
            self.findings.feed_server_log(counts)

    def feed_findings_host(self, sample: HostSample) -> None:
        """Host figures are evidence for the findings only when this is the database's host."""
        if self.findings is not None:
            self.findings.feed_host(sample)

    def findings_view(self) -> FindingsView:
        latest = self.latest
        note = ""
        if latest is not None and latest.connections_source == "process_titles":
            note = "no slot for warroom: counts from the server's process titles"
        active = self.findings.active() if self.findings is not None else []
        items = tuple((f.severity.value, f.text) for f in active)
        up = self.last_up
        longest = up.longest_query if up is not None else None
        return FindingsView(
            items=items,
            source_note=note,
            oldest_xact_s=up.oldest_xact_s if up is not None else None,
            longest_query_s=longest.age_s if longest is not None else None,
        )

    def feed_host(self, sample: HostSample) -> None:
        self.host = sample
        extra = self.rollups.extra
        load = sample.load
        self.rollups.extra = Extra(
            host_cpu=_round(sample.cpu_percent, 1),
            host_mem=_round(sample.mem_percent, 1),
            host_swap=_round(sample.swap_percent, 1),
            host_load=_round(load[0] if load else None, 2),
            host_tcp=tuple(sorted(sample.tcp_by_state.items())),
            bouncer_waiting=extra.bouncer_waiting,
            bouncer_maxwait_s=extra.bouncer_maxwait_s,
            bouncer_error=extra.bouncer_error,
            bouncer_pools=extra.bouncer_pools,
        )

    def feed_bouncer(self, sample: BouncerSample) -> None:
        self.bouncer = sample  # the alerts read it with the next PostgreSQL sample
        if self.findings is not None:
            self.findings.feed_bouncer(sample)
        extra = self.rollups.extra
        totals = sample.totals
        busiest = sorted(sample.pools, key=lambda p: (-p.cl_waiting, -p.cl_active, -p.maxwait_s))
        self.rollups.extra = Extra(
            host_cpu=extra.host_cpu,
            host_mem=extra.host_mem,
            host_swap=extra.host_swap,
            host_load=extra.host_load,
            host_tcp=extra.host_tcp,
            bouncer_waiting=totals.cl_waiting if sample.up else None,
            bouncer_maxwait_s=round(totals.maxwait_s, 3) if sample.up else None,
            bouncer_error=sample.error.kind.value if sample.error else None,
            bouncer_pools=tuple(
                PoolFigure(f"{p.database}/{p.user}", p.cl_active, p.cl_waiting, p.sv_active,
                           p.sv_idle, round(p.maxwait_s, 3))
                for p in busiest[:BUSIEST_POOLS_KEPT]
            ),
        )  # fmt: skip

    def feed_history(self, samples: Iterable[Sample]) -> None:
        """Recorded samples, to show what was: nothing they produce is recorded again.

        Alert transitions are dropped (they are on the timeline already) and they build no
        rollups (they came from some), so the first live rollup is the first new window.
        """
        for sample in samples:
            if isinstance(sample, PgSample):
                self._take(sample)  # a recorded sample shown again: it has its rollup
            elif isinstance(sample, HostSample):
                self.feed_host(sample)
            else:
                self.feed_bouncer(sample)
        extra = self.rollups.extra
        self.rollups = RollupBuilder(self.rollup_seconds, server=self.server)
        self.rollups.extra = extra

    def flush(self) -> list[SampleRollup]:
        return self.rollups.flush()

    # -- views ---------------------------------------------------------------------------

    def level(self, rule: str) -> str:
        for alert in self.engine.active():
            if alert.rule == rule:
                return str(alert.level)
        return "ok"

    def banner(self, now: datetime, interval: float) -> tuple[str, str]:
        """(level override, banner text): DOWN with the failure, or the age of stale data."""
        sample = self.latest
        if sample is None:
            return "", ""
        if not sample.up:
            kind = sample.error.kind.value if sample.error else "unknown"
            since = self.downtime.down_since or sample.at
            return "down", f"DOWN {kind} for {_age(now, since)}"
        age = (now - sample.at).total_seconds()
        every = max(interval, sample.every_s or 0.0)  # a costly server is sampled less often
        if age > max(3 * every, 3.0):
            return "", f"stale: last sample {_age(now, sample.at)} ago"
        if every > interval and sample.server_ms is not None:
            return "", f"every {every:g} s: a sample costs the server {ms(sample.server_ms)}"
        return "", ""

    def connections_view(self, now: datetime, interval: float) -> ConnectionsView:
        override, banner = self.banner(now, interval)
        sample = self.last_up
        conns = sample.connections if sample is not None else None
        latest = self.latest
        if latest is not None and latest.connections_source == "process_titles":
            # The server has no slot for us; its process titles still say who holds it.
            conns = latest.connections
            banner += " · counted from process titles"
        level = override or self.level("saturation")
        log = self.server_log
        logged = self.server_refusals.values(REFUSAL_WINDOW_S, now)
        return ConnectionsView(
            total=conns.total if conns else None,
            usable=conns.usable if conns else None,
            max=conns.max if conns else None,
            by_state=tuple(sorted(conns.by_state.items(), key=lambda kv: -kv[1]))
            if conns
            else (),
            waiting=conns.waiting if conns else 0,
            top=tuple((c.name, c.count) for c in conns.by_application[:TOP_APPS])
            if conns
            else (),
            level=level,
            banner=banner,
            chart=Chart(self.conns, now.timestamp(), CHART_SPAN_S),
            probe_refused=int(sum(self.refusals.values(REFUSAL_WINDOW_S, now))),
            # A read that failed or is late keeps the minute's count of the reads that worked.
            server_refused=int(sum(logged))
            if logged or (log is not None and log.source is not None)
            else None,
            server_log_note=one_line(log.missing, 200) if log is not None else "",
        )

    def latency_view(self, now: datetime) -> LatencyView:
        window = self.query_ms.window(self.engine_window_s, now)
        sample = self.latest
        probe = sample.probe_error if sample is not None else None
        refused = int(sum(self.refusals.values(REFUSAL_WINDOW_S, now)))
        return LatencyView(
            p50_ms=window.p50,
            p95_ms=window.p95,
            p99_ms=window.p99,
            connect_ms=sample.connect_ms if sample is not None else None,
            refused=refused,
            probe_error=f"{probe.kind.value} {probe.sqlstate or ''}".strip() if probe else "",
            level=self.level("query_p95"),
            chart=Chart(self.query_ms, now.timestamp(), CHART_SPAN_S),
        )

    def server_row(self, name: str, now: datetime, interval: float) -> ServerRow:
        """This server's line on the servers strip."""
        latest, up = self.latest, self.last_up
        override, banner = self.banner(now, interval)
        conns = up.connections if up is not None else None
        repl = up.replication if up is not None else None
        if latest is None:
            state = "waiting"
        elif not latest.up:
            state = f"DOWN {_short_age(now, self.downtime.down_since or latest.at)}"
        elif banner.startswith("stale"):
            state = f"stale {_short_age(now, latest.at)}"
        else:
            state = "up"
        levels = [self.level(rule) for rule in ("saturation", "query_p95", "replication_lag")]
        level = override or next((lv for lv in ("critical", "warning") if lv in levels), "ok")
        return ServerRow(
            name=name,
            role=up.role if up is not None else None,
            used=conns.total if conns is not None else None,
            usable=conns.usable if conns is not None else None,
            p95_ms=self.query_ms.window(self.engine_window_s, now).p95,
            refused=int(sum(self.refusals.values(REFUSAL_WINDOW_S, now))),
            lag_bytes=repl.max_lag_bytes if repl is not None else None,
            lag_s=repl.max_lag_s if repl is not None else None,
            replay_paused=repl.replay_paused if repl is not None else False,
            standbys=len(repl.replicas) if repl is not None and repl.role == "primary" else None,
            state=state,
            level=level,
        )

    def replication_view(self) -> ReplicationView:
        up = self.last_up
        repl = up.replication if up is not None else None
        if repl is None:
            return ReplicationView(role=up.role if up is not None else None, lines=())
        lines: list[tuple[str, str]] = []
        if repl.role == "primary":
            for r in repl.replicas:
                lag = _lag_text(r.replay_lag_bytes, r.replay_lag_s)
                # state and sync state are hidden from a monitor without pg_monitor
                lines.append((f"{one_line(r.name, 24)} {r.state or '?'} {r.sync_state or ''} {lag}",
                              "ok" if r.state == "streaming" else "warning"))  # fmt: skip
            if not repl.replicas:
                lines.append(("no standby connected", "ok"))
            for slot in repl.slots:
                kept = _bytes(slot.retained_bytes)
                if slot.active:
                    lines.append((f"slot {one_line(slot.name, 24)} active, keeps {kept}", "ok"))
                else:
                    lines.append((f"slot {one_line(slot.name, 24)} INACTIVE, keeps {kept}",
                                  "warning"))  # fmt: skip
        else:
            source = one_line(repl.upstream or "?", 40)
            if repl.replay_paused:
                lines.append(("replay paused", "warning"))
            lines.append((f"from {source}" + ("" if repl.receiving else " (not receiving)"),
                           "ok" if repl.receiving else "critical"))  # fmt: skip
            lines.append((f"lag {_lag_text(repl.lag_bytes, repl.lag_s)}", "ok"))
        return ReplicationView(role=repl.role, lines=tuple(lines))

    def host_view(self) -> HostView | None:
        s = self.host
        if s is None:
            return None
        return HostView(
            cpu_percent=s.cpu_percent,
            mem_percent=s.mem_percent,
            swap_percent=s.swap_percent,
            load=s.load,
            tcp=tuple(sorted(s.tcp_by_state.items())),
        )

    def bouncer_view(self) -> BouncerView | None:
        s = self.bouncer
        if s is None:
            return None
        pools = tuple(
            PoolRow(
                name=f"{p.database}/{p.user}",
                cl_active=p.cl_active,
                cl_waiting=p.cl_waiting,
                sv_active=p.sv_active,
                sv_idle=p.sv_idle,
                maxwait_s=p.maxwait_s,
            )
            for p in s.pools
        )
        error = s.error
        banner = f"DOWN {error.kind.value}: {one_line(error.message, 60)}" if error else ""
        return BouncerView(pools=pools, banner=banner)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _bytes(value: int | None) -> str:
    return "—" if value is None else format_bytes(value)


def _lag_text(lag_bytes: int | None, lag_s: float | None) -> str:
    return lag_text(lag_bytes, lag_s) or "—"


def _short_age(now: datetime, since: datetime) -> str:
    """``45s``, ``2m``, ``1h05``: the strip's state column has eight cells."""
    seconds = max(int((now - since).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def _age(now: datetime, since: datetime) -> str:
    seconds = max(int((now - since).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
