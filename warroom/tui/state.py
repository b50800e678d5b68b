"""The dashboard's live data path, without Textual: samples in, views and record changes out.

Everything the app learns from a collector goes through ``LiveState.feed``; the widgets get the
plain views it builds. Keeping this free of the UI lets the benchmark push a day of samples
through exactly the code the app runs, and keeps memory flat (bounded series only).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from warroom.collectors.alerts import AlertConfig, AlertEngine, AlertEvent
from warroom.collectors.findings import FindingEvent, FindingsEngine
from warroom.collectors.host import HostSample
from warroom.collectors.sample import PgSample, ServerChange
from warroom.collectors.series import Rollup, RollupBuilder, Series
from warroom.sessions.model import SampleRollup
from warroom.widgets.connections import ConnectionsView
from warroom.widgets.findings import FindingsView
from warroom.widgets.latency import LatencyView

# The charts show ten minutes at 80 columns and up to an hour on a wide terminal.
CHART_SPAN_S = 600.0
HISTORY_POINTS = 3600
REFUSAL_WINDOW_S = 60.0  # "refused" counts the last minute's refused probes
TOP_APPS = 12


@dataclass(slots=True)
class Fed:
    """What one sample changed in the record: alert transitions and closed rollups."""

    events: list[AlertEvent] = field(default_factory=list)
    rollups: list[SampleRollup] = field(default_factory=list)
    findings: list[FindingEvent] = field(default_factory=list)  # raise/clear transitions
    changes: list[ServerChange] = field(default_factory=list)  # restarts, reloads, promotions


def to_record(rollup: Rollup) -> SampleRollup:
    return SampleRollup(**asdict(rollup))


class LiveState:
    def __init__(self, alerts: AlertConfig | None = None, rollup_seconds: float = 10.0) -> None:
        self.conns = Series(HISTORY_POINTS)
        self.query_ms = Series(HISTORY_POINTS)
        self.refusals = Series(HISTORY_POINTS)
        self.latest: PgSample | None = None
        self.last_up: PgSample | None = None
        self.down_since: datetime | None = None
        config = alerts or AlertConfig()
        self.engine = AlertEngine(config)
        self.engine_window_s = config.latency_window_s
        self.rollups = RollupBuilder(rollup_seconds)
        self.findings = FindingsEngine(config.findings)

    # -- input ---------------------------------------------------------------------------

    def preload(self, rollups: list[SampleRollup]) -> None:
        """Chart history from a resumed session's rollups (peaks per window)."""
        for rollup in rollups[-HISTORY_POINTS:]:
            if rollup.conn_max is not None:
                self.conns.append(rollup.at, rollup.conn_max)
            peak = rollup.query_max_ms if rollup.query_max_ms is not None else None
            if peak is not None:
                self.query_ms.append(rollup.at, peak)

    def feed(self, sample: PgSample) -> Fed:
        self.latest = sample
        if sample.up:
            self.last_up = sample
            self.down_since = None
            if sample.connections is not None:
                self.conns.append(sample.at, sample.connections.total)
            if sample.query_ms is not None:
                self.query_ms.append(sample.at, sample.query_ms)
        elif self.down_since is None:
            self.down_since = sample.at
        refused = sample.probe_error is not None
        self.refusals.append(sample.at, 1.0 if refused else 0.0)
        p95 = self.query_ms.window(self.engine_window_s, sample.at).p95
        events = self.engine.evaluate(sample, query_p95_ms=p95)
        rollups = [to_record(r) for r in self.rollups.add(sample)]
        findings = self.findings.feed(sample)
        return Fed(events=events, rollups=rollups, findings=findings, changes=list(sample.changes))

    def feed_findings_host(self, sample: HostSample) -> None:
        """Host figures are evidence for the findings only when this is the database's host."""
        self.findings.feed_host(sample)

    def findings_view(self) -> FindingsView:
        latest = self.latest
        note = ""
        if latest is not None and latest.connections_source == "process_titles":
            note = "no slot for warroom: counts from the server's process titles"
        items = tuple((f.severity.value, f.text) for f in self.findings.active())
        up = self.last_up
        longest = up.longest_query if up is not None else None
        return FindingsView(
            items=items,
            source_note=note,
            oldest_xact_s=up.oldest_xact_s if up is not None else None,
            longest_query_s=longest.age_s if longest is not None else None,
        )

    def flush(self) -> list[SampleRollup]:
        return [to_record(r) for r in self.rollups.flush()]

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
            since = self.down_since or sample.at
            return "down", f"DOWN {kind} for {_age(now, since)}"
        age = (now - sample.at).total_seconds()
        if age > max(3 * interval, 3.0):
            return "", f"stale: last sample {_age(now, sample.at)} ago"
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
            history=tuple(self.conns.points()),
            now=now.timestamp(),
            span_s=CHART_SPAN_S,
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
            history=tuple(self.query_ms.points()),
            now=now.timestamp(),
            span_s=CHART_SPAN_S,
        )


def _age(now: datetime, since: datetime) -> str:
    seconds = max(int((now - since).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
