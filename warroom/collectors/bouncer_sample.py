"""What a PgBouncer sample is: frozen data, free of psycopg (replay and the record read it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warroom.collectors.sample import Failure


@dataclass(frozen=True, slots=True)
class PoolStats:
    database: str  # names as PgBouncer gave them; display code must sanitise
    user: str
    cl_active: int  # clients linked to a server, or idle with nothing to run
    cl_waiting: int  # clients that sent a query and wait for a server connection
    sv_active: int
    sv_idle: int
    maxwait_s: float  # how long the oldest waiting client has waited
    avg_query_ms: float | None = None  # SHOW STATS avg_query_time (per database)
    avg_wait_ms: float | None = None  # SHOW STATS avg_wait_time (per database)

    @property
    def name(self) -> str:
        return f"{self.database}/{self.user}"


@dataclass(frozen=True, slots=True)
class PoolTotals:
    cl_active: int = 0
    cl_waiting: int = 0
    sv_active: int = 0
    sv_idle: int = 0
    maxwait_s: float = 0.0  # the longest wait of any pool


@dataclass(frozen=True, slots=True)
class BouncerSample:
    at: datetime
    status: str  # "up" or "down"
    error: Failure | None = None
    pools: tuple[PoolStats, ...] = ()

    @property
    def up(self) -> bool:
        return self.status == "up"

    @property
    def totals(self) -> PoolTotals:
        return PoolTotals(
            cl_active=sum(p.cl_active for p in self.pools),
            cl_waiting=sum(p.cl_waiting for p in self.pools),
            sv_active=sum(p.sv_active for p in self.pools),
            sv_idle=sum(p.sv_idle for p in self.pools),
            maxwait_s=max((p.maxwait_s for p in self.pools), default=0.0),
        )


__all__ = ["BouncerSample", "PoolStats", "PoolTotals"]
