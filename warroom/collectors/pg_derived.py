"""Figures derived from two samples in a row: churn (sessions come and gone) and TPS."""

from __future__ import annotations

from warroom.collectors import pg_queries
from warroom.collectors.pg_connection import MonitorSession
from warroom.collectors.sample import Churn


class DerivedFigures:
    """PostgresCollector's part that turns counters into per-interval figures."""

    _prev_xacts: tuple[float, int] | None
    _own_statements: int
    _own_pending: int

    def _churn(self, session: MonitorSession, agg: pg_queries.Aggregate) -> Churn | None:
        prev_now, session.server_now = session.server_now, agg.server_now
        prev, session.sessions = session.sessions, agg.sessions
        if prev_now is None or agg.server_now is None or agg.server_now <= prev_now:
            return None
        interval = agg.server_now - prev_now
        if agg.sessions is not None and prev is not None:
            d = [max(n - p, 0) for n, p in zip(agg.sessions, prev, strict=True)]
            # Came and went: the new sessions less those of them still connected. Not less the
            # growth in connections: a deploy replaces a pool's sessions and grows nothing.
            went = d[0] - (agg.new_total or 0) - session.sessions_owed
            session.sessions_owed = max(-went, 0)
            return Churn(interval, d[0], d[1], d[2], d[3], agg.new_apps, "sessions",
                         max(went, 0), agg.new_groups)  # fmt: skip
        return Churn(interval, agg.new_total, new_by_application=agg.new_apps,
                     source="backend_start", new_by_group=agg.new_groups)  # fmt: skip

    def _tps(self, xacts: int | None, now: float) -> float | None:
        # The rate is per second of the samples' own ``at``: whoever multiplies it back by the
        # time between two samples gets the transactions the server counted, exactly.
        if xacts is None:
            return None
        prev, self._prev_xacts = self._prev_xacts, (now, xacts)
        # Our own statements are transactions too, but the server counts them only when our
        # backend flushes its stats (up to a second later): carry them until they show up,
        # rather than clamping, or they would surface later as phantom traffic.
        self._own_pending = min(self._own_pending + self._own_statements, 50)
        self._own_statements = 0
        if prev is None or now <= prev[0] or xacts < prev[1]:
            return None  # first reading, or stats were reset / the server restarted
        raw = xacts - prev[1]
        mine = min(raw, self._own_pending)
        self._own_pending -= mine
        return (raw - mine) / (now - prev[0])
