"""What a PgBouncer sample is: frozen data, free of psycopg (replay and the record read it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.collectors.sample import Failure
from warroom.sanitize import one_line


@dataclass(frozen=True, slots=True)
class ClientGroup:
    """A pool's clients from one application at one address (``SHOW CLIENTS``)."""

    application: str  # as the client gave it ("" when it set none); display code must sanitise
    address: str  # the client's IP address, or "unix"
    clients: int  # connected to this pool
    waiting: int  # of which waiting for a server connection
    longest_wait_s: float = 0.0  # how long the longest waiting one has waited

    def to_json(self) -> dict[str, Any]:
        return {
            "application": one_line(self.application, 64), "address": one_line(self.address, 64),
            "clients": self.clients, "waiting": self.waiting,
            "longest_wait_s": round(self.longest_wait_s, 3),
        }  # fmt: skip


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
    # Who the clients are, most waiting first: read (SHOW CLIENTS) only while clients wait,
    # so a calm pooler with thousands of clients costs no client list per sample.
    clients: tuple[ClientGroup, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.database}/{self.user}"

    def to_json(self) -> dict[str, Any]:
        return {
            "database": one_line(self.database, 64), "user": one_line(self.user, 64),
            "cl_active": self.cl_active, "cl_waiting": self.cl_waiting,
            "sv_active": self.sv_active, "sv_idle": self.sv_idle,
            "maxwait_s": round(self.maxwait_s, 3),
            "avg_query_ms": _ms(self.avg_query_ms), "avg_wait_ms": _ms(self.avg_wait_ms),
            "clients_waiting": [c.to_json() for c in self.clients if c.waiting],
        }  # fmt: skip


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

    def to_json(self) -> dict[str, Any]:
        """The ``pgbouncer`` object of a ``warroom sample --json`` line."""
        return {
            "status": self.status,
            "error": None if self.error is None else self.error.to_json(),
            "pools": [p.to_json() for p in self.pools],
        }

    @property
    def totals(self) -> PoolTotals:
        return PoolTotals(
            cl_active=sum(p.cl_active for p in self.pools),
            cl_waiting=sum(p.cl_waiting for p in self.pools),
            sv_active=sum(p.sv_active for p in self.pools),
            sv_idle=sum(p.sv_idle for p in self.pools),
            maxwait_s=max((p.maxwait_s for p in self.pools), default=0.0),
        )


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


__all__ = ["BouncerSample", "ClientGroup", "PoolStats", "PoolTotals"]
