"""What a PostgreSQL sample is: frozen data, or a typed failure. Shared by every consumer.

A sample never raises into its caller: when the database cannot answer, ``status`` is ``down``
and ``error`` says why. When the monitoring connection answers but the connect probe is refused
(a connection storm), ``status`` stays ``up`` and ``probe_error`` carries the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTH = "auth"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    SHUTTING_DOWN = "shutting_down"
    PERMISSION = "permission"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    message: str
    sqlstate: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "message": self.message, "sqlstate": self.sqlstate}


@dataclass(frozen=True, slots=True)
class Count:
    """A name (application, user, client address) and how many connections it holds."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class LongQuery:
    pid: int
    age_s: float
    application: str
    user: str
    state: str
    query: str  # first 200 characters, as the server gave them; display code must sanitise


@dataclass(frozen=True, slots=True)
class BlockedBackend:
    pid: int
    blocked_by: tuple[int, ...]
    application: str
    wait_s: float
    query: str


@dataclass(frozen=True, slots=True)
class Connections:
    total: int  # client backends, not counting warroom's own monitoring connection
    max: int  # max_connections
    reserved: int  # superuser_reserved_connections (+ reserved_connections on 16+)
    by_state: dict[str, int]
    waiting: int  # wait_event_type = 'Lock'
    by_application: tuple[Count, ...]
    by_user: tuple[Count, ...] = ()
    by_client: tuple[Count, ...] = ()

    @property
    def usable(self) -> int:
        return max(self.max - self.reserved, 1)

    @property
    def saturation(self) -> float:
        """Fraction (0..1, may exceed 1 when superusers use reserved slots) of usable slots."""
        return self.total / self.usable


@dataclass(frozen=True, slots=True)
class PgSample:
    at: datetime
    status: str  # "up" or "down"
    error: Failure | None = None  # why the sample is down
    connections: Connections | None = None
    query_ms: float | None = None  # round trip of a trivial query on the monitoring connection
    connect_ms: float | None = None  # latest connect probe time, None if refused or not yet run
    probe_error: Failure | None = None  # latest connect probe refusal
    tps: float | None = None
    oldest_xact_s: float | None = None
    oldest_idle_xact_s: float | None = None
    longest_query: LongQuery | None = None
    blocked: tuple[BlockedBackend, ...] = field(default=())
    server_version: int | None = None

    @property
    def up(self) -> bool:
        return self.status == "up"

    def to_json(self) -> dict[str, Any]:
        """The ``warroom sample --json`` object, keys exactly as DESIGN.md lists them.

        ``error`` is the reason the sample is down; when the server is up but the connect probe
        was refused, it carries that refusal instead, so a script sees storms without new keys.
        """
        error = self.error or self.probe_error
        conns = self.connections
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "status": self.status,
            "error": error.to_json() if error else None,
            "connections": None
            if conns is None
            else {
                "total": conns.total,
                "max": conns.max,
                "saturation": round(conns.saturation, 4),
                "by_state": dict(conns.by_state),
                "waiting": conns.waiting,
                "by_application": [
                    {"name": c.name, "count": c.count} for c in conns.by_application
                ],
            },
            "latency_ms": {
                "query": _ms(self.query_ms),
                "connect": _ms(self.connect_ms),
            },
            "tps": None if self.tps is None else round(self.tps, 2),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
