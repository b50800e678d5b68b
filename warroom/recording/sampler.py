"""One server's frame per sample: the headless sample and its backends, from one read.

The sample is ``warroom sample --json``'s (collectors/headless.py: PostgreSQL, its PgBouncer,
its server log, the findings); the backends are the backends view's rows, returned by the same
statement on the collector's held monitoring connection (the one a connection storm cannot take
away), from the same snapshot of pg_stat_activity: a frame's list is who its counts are. The
alerts are the dashboard's rules on the same figures. Runs on the server's poller thread;
what it returns goes to the recorder's one writer thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from warroom.collectors.alerts import AlertConfig, AlertEngine, State
from warroom.collectors.sample import PgSample
from warroom.collectors.series import RollupBuilder, Series
from warroom.recording.frame import BackendRow, Frame, Rows
from warroom.recording.opener import Breach, alert_breach, finding_breach
from warroom.rollup import SampleRollup
from warroom.sanitize import one_line

if TYPE_CHECKING:
    from warroom.collectors.headless import ServerLines

ROLLUP_SECONDS = 10.0  # the dashboard's windows: the lead-up's rollups read like the record's


@dataclass(slots=True)
class Sampled:
    frame: Frame
    rollups: list[SampleRollup] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # raises and clears, one line each
    breaches: list[Breach] = field(default_factory=list)  # the same, for the incident opener


class ServerFrames:
    def __init__(self, lines: ServerLines, server: str, alerts: AlertConfig) -> None:
        self.lines = lines
        lines.collector.with_backends = True
        self.server = server
        self.alerts = AlertEngine(alerts)
        self._window_s = alerts.latency_window_s
        self._query_ms = Series()
        self.rollups = RollupBuilder(ROLLUP_SECONDS, server=server)
        self._rows = Rows()

    def _backends(self, sample: PgSample) -> tuple[BackendRow, ...] | None:
        """Every client backend (no cap: the recorder keeps all), from the sample's own read of
        pg_stat_activity, so the frame's list and its counts agree; None when it failed."""
        listed = self.lines.collector.take_backends()
        return None if listed is None else self._rows.of(listed, sample.at.timestamp())

    def sample(self) -> Sampled:
        taken = self.lines.take()
        sample = taken.sample
        backends = self._backends(sample) if sample.up else None
        frame = Frame(self.server, sample.at, sample.status, taken.body, backends)
        out = Sampled(frame, log=[f"finding {e.state.value}: {e.message}" for e in taken.findings])
        out.breaches = [finding_breach(self.server, e) for e in taken.findings
                        if e.state.value == "raised"]  # fmt: skip
        if sample.up and sample.query_ms is not None:
            self._query_ms.append(sample.at, sample.query_ms)
        p95 = self._query_ms.window(self._window_s, sample.at).p95
        events = self.alerts.evaluate(sample, query_p95_ms=p95, bouncer=taken.pools)
        # When each active alert first raised (a critical one may have been a warning first).
        since = {a.rule: a.since for a in self.alerts.active()} if events else {}
        for event in events:
            word = "raised" if event.state is State.RAISED else "cleared"
            out.log.append(f"alert {event.level.value} {word}: {event.message}")
            out.breaches.append(alert_breach(self.server, event, since.get(event.rule)))
        out.log = [f"{self.server}: {one_line(line, 400)}" for line in out.log]
        self.rollups.add_server_log(taken.logged, sample.at)
        out.rollups = self.rollups.add(sample)
        return out

