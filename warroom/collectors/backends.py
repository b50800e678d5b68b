"""The backends view's data and its two actions: list client backends, cancel or terminate them.

Both run on the collector's held monitoring connection: during a connection storm it is the one
connection we are sure to have. Listing is on demand (only while the view is open, or while the
flight recorder asks), capped for the view and uncapped for the recorder, and one round trip
that returns JSON. The statements are pg_queries.backends_list_sql (per server version) and
pg_queries.BACKENDS_*_SQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Backend:
    pid: int
    application: str
    user: str
    client: str  # the client's address, or 'local' for a Unix socket
    state: str
    xact_s: float | None  # open transaction age
    query_s: float | None  # current (or last) query age
    state_s: float | None  # time in the current state
    wait_type: str
    wait_event: str
    blocked_by: tuple[int, ...]
    query: str  # up to 1024 characters, raw: display code sanitises
    backend_start: datetime | None = None  # UTC; with pid, the backend's identity
    database: str = ""
    client_port: int | None = None  # None for a Unix socket (the server says -1 or NULL)
    xact_start: datetime | None = None  # UTC
    query_start: datetime | None = None  # UTC
    query_truncated: bool = False  # the text is cut (by the server or by us): not the statement

    @property
    def idle_in_transaction(self) -> bool:
        return self.state.startswith("idle in transaction")

    @property
    def identity(self) -> tuple[int, datetime | None]:
        """pid and backend start: a pid the server reuses is another backend."""
        return (self.pid, self.backend_start)


@dataclass(frozen=True, slots=True)
class Signalled:
    """What a signal to a set did: the pids PostgreSQL signalled, and those already gone."""

    signalled: tuple[int, ...]
    gone: tuple[int, ...]


def identity_params(targets: Sequence[Backend], terminate: bool) -> list[bytes | None]:
    """BACKENDS_SIGNAL_IDENTITIES_SQL's parameters as libpq text: pids, starts, the verb."""
    with_start = [b for b in targets if b.backend_start is not None]
    pids = "{" + ",".join(str(int(b.pid)) for b in with_start) + "}"
    starts = "{" + ",".join(
        '"' + b.backend_start.replace(tzinfo=None).isoformat() + '"'  # type: ignore[union-attr]
        for b in with_start
    ) + "}"
    return [pids.encode(), starts.encode(), b"true" if terminate else b"false"]


def parse_signalled(text: str) -> Signalled:
    d = json.loads(text)
    return Signalled(tuple(int(p) for p in d["signalled"]), tuple(int(p) for p in d["gone"]))


def parse_list(text: str) -> list[Backend]:
    rows: list[dict[str, Any]] = json.loads(text)
    return [
        Backend(
            pid=int(r["pid"]),
            application=str(r["application"]),
            user=str(r["user"]),
            client=str(r["client"]),
            state=str(r["state"]),
            xact_s=_float(r.get("xact_s")),
            query_s=_float(r.get("query_s")),
            state_s=_float(r.get("state_s")),
            wait_type=str(r["wait_type"]),
            wait_event=str(r["wait_event"]),
            blocked_by=tuple(int(p) for p in r.get("blocked_by") or ()),
            query=str(r.get("query") or ""),
            backend_start=_utc(r.get("backend_start")),
            database=str(r.get("database") or ""),
            client_port=_port(r.get("client_port")),
            xact_start=_utc(r.get("xact_start")),
            query_start=_utc(r.get("query_start")),
            query_truncated=bool(r.get("query_truncated")),
        )
        for r in rows
    ]


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _utc(value: object) -> datetime | None:
    """A JSON timestamp (ISO, taken AT TIME ZONE 'UTC' by the statement) as an aware datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _port(value: object) -> int | None:
    port = None if value is None else int(value)  # type: ignore[call-overload]
    return port if port is not None and port >= 0 else None


def blocked_chains(backends: list[Backend]) -> list[Backend]:
    """Blockers first, each followed by the backends it blocks (the root of a pile-up on top)."""
    by_pid = {b.pid: b for b in backends}
    blocked = [b for b in backends if b.blocked_by]
    blockers = {pid for b in blocked for pid in b.blocked_by}
    roots = [by_pid[pid] for pid in blockers if pid in by_pid and not by_pid[pid].blocked_by]
    ordered: list[Backend] = []
    seen: set[int] = set()
    for root in sorted(roots, key=lambda b: -(b.xact_s or 0)):
        ordered.append(root)
        seen.add(root.pid)
        for b in blocked:
            if root.pid in b.blocked_by and b.pid not in seen:
                ordered.append(b)
                seen.add(b.pid)
    ordered.extend(b for b in blocked if b.pid not in seen)
    return ordered
