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
from functools import lru_cache
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
    """The list statement's JSON as Backends."""
    return parse_rows(json.loads(text))


def parse_rows(rows: list[dict[str, Any]]) -> list[Backend]:
    """The list's rows (the list statement's, or a recorder's frame's ``backends``) as Backends.
    Its columns are typed (coalesced text, int pid and port, an int array), so values are taken
    as they come (ages made floats): the recorder parses every backend each second, and
    per-value conversions were half its CPU at 500 backends (bench/bench_recorder.py).
    Positional arguments for the same reason."""
    out: list[Backend] = []
    append = out.append
    for r in rows:
        get = r.get
        port = get("client_port")
        blocked = get("blocked_by")
        xact_s, query_s, state_s = get("xact_s"), get("query_s"), get("state_s")
        append(Backend(
            r["pid"], r["application"], r["user"], r["client"], r["state"],
            # float8 in JSON: a whole number of seconds comes as an int
            None if xact_s is None else float(xact_s), None if query_s is None else float(query_s),
            None if state_s is None else float(state_s), r["wait_type"], r["wait_event"],
            tuple(blocked) if blocked else (), get("query") or "",
            _utc(get("backend_start")), get("database") or "",
            port if port is not None and port >= 0 else None,
            _utc(get("xact_start")), _utc(get("query_start")), bool(get("query_truncated")),
        ))  # fmt: skip
    return out


def _utc(value: str | None) -> datetime | None:
    """A JSON timestamp (ISO, taken AT TIME ZONE 'UTC' by the statement) as an aware datetime."""
    return None if value is None else _utc_text(value)


@lru_cache(maxsize=65536)
def _utc_text(value: str) -> datetime:
    # Cached: a backend's start, and the query and transaction starts of every backend that
    # did not move, are the same text from one second to the next.
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


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
