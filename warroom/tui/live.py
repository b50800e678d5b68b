"""Live data: the collectors on pollers (one per source and server), on the wall clock.

Each poller posts its samples to the App as messages; the App feeds them to the server's
LiveState. A resumed session first shows its recorded last minutes through the same states.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual.message import Message

from warroom.collectors.alerts import AlertConfig
from warroom.collectors.poll import Poller
from warroom.sessions.model import Incident, Kind, Source, rollups_by_server
from warroom.sessions.recorded import Recording
from warroom.tui.messages import (
    BouncerSampled,
    CollectorFailed,
    HostSampled,
    PgSampled,
)
from warroom.tui.parts import Host, SampleSource, Watched
from warroom.tui.state import CHART_SPAN_S, LiveState
from warroom.widgets.views import FindingsView

if TYPE_CHECKING:  # the serverlog package brings psycopg: imported when a server is watched
    from warroom.collectors.serverlog.counts import LogCounts
    from warroom.collectors.serverlog.source import ServerLogSource

# The host's CPU (averaged since the last sample), memory, swap and load move slowly: every 5 s,
# as vmstat is often run, is fresh enough. psutil costs ~1 ms a sample cold; at 3 s the host
# thread was ~0.45 ms of the idle dashboard's ~4.4 ms a second.
HOST_EVERY_S = 5.0


class WithLog:
    """A server's sample and its own log's window since the last one, read side by side on the
    postgres poller's thread (as ``warroom sample`` does): one wake-up and one message a second
    for both, where a poller of its own cost the idle dashboard a second of each."""

    def __init__(self, postgres: SampleSource, log: ServerLogSource | None) -> None:
        self.postgres = postgres
        self.log = log
        self._budget = float(getattr(postgres, "budget", 0.0) or 0.0)
        # The collector's cadence (collectors/pace.py) paces the poller; a fixed source has none.
        self.every: Callable[[], float] | None = getattr(postgres, "every", None)

    def sample(self) -> tuple[Any, LogCounts | None]:
        if self.log is None:
            return self.postgres.sample(), None
        started = time.monotonic()
        self.log.start()  # on the log's own worker: a slow disk never delays the sample
        sample = self.postgres.sample()
        # Within the sample's budget: a read still running reports so, its counts come later.
        return sample, self.log.result(started + self._budget - time.monotonic())

    def close(self) -> None:
        """The collectors are closed by LiveSource.close."""


class LiveSource:
    """The watched servers' collectors, and the host's; the wall clock cannot be moved."""

    def __init__(
        self,
        servers: Sequence[Watched],
        host: SampleSource | None,
        interval: float,
        alerts: AlertConfig | None,
    ) -> None:
        self.servers = list(servers)
        self.host = host
        self.interval = interval
        # A one-server session's rollups carry no name (its Watched name is empty).
        self._states = [LiveState(alerts, server=w.name or None) for w in self.servers]
        self.pollers: list[Poller[Any]] = []
        self._logs: list[SampleSource] = []  # the server-log readers start makes

    @property
    def states(self) -> list[LiveState]:
        return self._states

    def prime(self, incident: Incident) -> None:
        """A resumed session's recorded last minutes, through the same path as live samples;
        and the alerts its timeline leaves raised, so they are not raised (and sent) again."""
        alerts = [(e.at, e.text) for e in incident.entries_in_order()
                  if e.kind is Kind.ALERT and e.source is Source.AUTO]  # fmt: skip
        for state in self._states:
            tag = f"[{state.server}] " if state.server else ""
            state.engine.resume((at, text.removeprefix(tag)) for at, text in alerts
                                if not tag or text.startswith(tag))  # fmt: skip
        by_server = rollups_by_server(incident.samples)
        for state in self._states:
            mine = by_server.get(state.server, [])
            if not mine:
                continue
            recording = Recording(mine[-int(CHART_SPAN_S // 5) :])
            end = recording.end
            assert end is not None
            state.feed_history(recording.between(end - timedelta(seconds=CHART_SPAN_S), end))

    def start(self, host: Host) -> None:
        # One poller per source and server: a stalled server never delays another's figures.
        plan: list[tuple[str, SampleSource, Callable[[Any], Message], float]] = []
        for index, watched in enumerate(self.servers):
            where = f":{watched.name}" if watched.name else ""
            if watched.postgres is not None:
                from warroom.collectors.serverlog.source import ServerLogSource

                log = ServerLogSource.beside(watched.postgres)  # None unless a live collector
                if log is not None:
                    self._logs.append(log)
                plan.append((f"postgres{where}", WithLog(watched.postgres, log),
                             lambda r, i=index: PgSampled(*r, i), self.interval))  # fmt: skip
            if watched.bouncer is not None:
                plan.append((f"bouncer{where}", watched.bouncer,
                             lambda r, i=index: BouncerSampled(r, i), self.interval))  # fmt: skip
        if self.host is not None:
            # Host figures move slowly and psutil is not free: a few seconds is fresh enough.
            plan.append(("host", self.host, HostSampled, max(self.interval, HOST_EVERY_S)))
        for name, source, make, every in plan:
            poller: Poller[Any] = Poller(
                name,
                source.sample,
                lambda result, make=make: host.post_message(make(result)),
                every,
                pace=source.every if isinstance(source, WithLog) else None,
                # A message, not call_from_thread: that waits for the loop, and raises in the
                # poller's thread when a failure comes as the app exits.
                on_error=lambda exc, name=name: host.post_message(
                    CollectorFailed(f"{name} collector failed: {exc}")
                ),
            )
            self.pollers.append(poller)
            poller.start()

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()

    def close(self) -> None:
        sources = [self.host, *(s for w in self.servers for s in (w.postgres, w.bouncer))]
        for source in [*sources, *self._logs]:
            if source is not None:
                _close_quietly(source)

    def select(self, index: int) -> None:
        """The states are fixed: the App shows the selected one."""

    def findings_view(self, state: LiveState) -> FindingsView:
        return state.findings_view()

    def header_notes(self) -> tuple[tuple[str, str], ...]:
        return ()

    def busy_for(self) -> float:
        """Seconds the PostgreSQL sample in flight has taken (0 when idle)."""
        for poller in self.pollers:
            if poller.name.startswith("postgres") and poller.busy_since is not None:
                return time.monotonic() - poller.busy_since
        return 0.0

    # The wall clock cannot be moved: these are a recording's (check_action hides them live).

    def play(self) -> bool:
        return False

    def step(self, seconds: int) -> bool:
        return False

    def to_entry(self, forward: bool) -> bool:
        return False

    def jump(self, to_end: bool) -> bool:
        return False

    def faster(self, up: bool) -> bool:
        return False

    def seek(self, at: datetime) -> bool:
        return False


def _close_quietly(source: SampleSource) -> None:
    try:
        source.close()
    except Exception:  # closing a collector mid-stall must not stop the app from exiting
        pass
