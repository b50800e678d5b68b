"""Building a PgSample: up from the sample query's aggregate, down from a failure."""

from __future__ import annotations

from datetime import UTC, datetime

import psutil

from warroom.collectors import pg_queries, proctitles, statements
from warroom.collectors.pace import Pace
from warroom.collectors.pg_connection import REFUSALS, MonitorSession
from warroom.collectors.pg_derived import DerivedFigures
from warroom.collectors.pg_probe import Probing
from warroom.collectors.sample import Connections, Failure, PgSample, Replication
from warroom.collectors.server_changes import ServerWatch, Settings


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SampleAssembly(DerivedFigures, Probing):
    """PostgresCollector's part that assembles up and down samples."""

    top: int
    process_titles: bool
    watch: ServerWatch
    statements: statements.StatementWindow
    _session: MonitorSession | None
    _statements_note: str | None
    _replication_note: str | None
    _limits: pg_queries.Limits | None
    _postmaster: int | None
    _port: int
    pace: Pace

    def _down(self, at: datetime, failure: Failure) -> PgSample:
        connect_ms, probe_error = self._probe_fields()
        session = self._session
        conns = None
        if self.process_titles and failure.kind in REFUSALS:
            conns = self._count_titles()
        return PgSample(
            at=at, status="down", error=failure, connect_ms=connect_ms, probe_error=probe_error,
            server_version=None if session is None else session.version,
            connections=conns,
            connections_source="server" if conns is None else "process_titles",
        )  # fmt: skip

    def _count_titles(self) -> Connections | None:
        """Who holds the server, from its process titles: no slot needed, on its host only."""
        try:
            if self._postmaster is None or not psutil.pid_exists(self._postmaster):
                self._postmaster = proctitles.find_postmaster(self._port)
            if self._postmaster is None:
                return None
            found = proctitles.backends(self._postmaster)
        except (psutil.Error, OSError):
            return None
        limits = self._limits
        return proctitles.count(
            found,
            max_connections=None if limits is None else limits.max_connections,
            reserved=0 if limits is None else limits.reserved,
            top=self.top,
            clients_each=pg_queries.GROUP_CLIENTS,
        )

    def _up(
        self,
        at: datetime,
        session: MonitorSession,
        query_ms: float,
        agg: pg_queries.Aggregate,
        settings: Settings | None,
        repl: Replication | None = None,
    ) -> PgSample:
        connect_ms, probe_error = self._probe_fields()
        churn = self._churn(session, agg)
        cost = self.pace.cost_s
        changes = self.watch.update(at, agg.started, agg.conf_loaded, agg.in_recovery, settings)
        return PgSample(
            waits=agg.waits,
            idle_tx_apps=agg.idle_tx_apps,
            lock_roots=agg.roots,
            churn=churn,
            statements=self.statements.top(),
            statements_note=self._statements_note,
            server_started_at=None if agg.started is None else _utc(agg.started),
            conf_loaded_at=None if agg.conf_loaded is None else _utc(agg.conf_loaded),
            in_recovery=agg.in_recovery,
            changes=changes,
            at=at,
            status="up",
            connections=agg.connections,
            query_ms=query_ms,
            connect_ms=connect_ms,
            probe_error=probe_error,
            tps=self._tps(agg.xacts, at.timestamp()),
            oldest_xact_s=agg.oldest_xact_s,
            oldest_idle_xact_s=agg.oldest_idle_xact_s,
            longest_query=agg.longest_query,
            blocked=agg.blocked,
            server_version=session.version,
            replication=repl,
            replication_note=self._replication_note,
            every_s=self.pace.every(),
            server_ms=None if cost is None else cost * 1000.0,
        )
