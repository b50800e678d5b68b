"""The backends view's data and its two actions: list client backends, cancel or terminate them.

Both run on the collector's held monitoring connection: during a connection storm it is the one
connection we are sure to have. Listing is on demand (only while the view is open), capped, and
one round trip that returns JSON. The statements are pg_queries.BACKENDS_*_SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Backend:
    pid: int
    application: str
    user: str
    client: str
    state: str
    xact_s: float | None  # open transaction age
    query_s: float | None  # current (or last) query age
    state_s: float | None  # time in the current state
    wait_type: str
    wait_event: str
    blocked_by: tuple[int, ...]
    query: str  # first 200 characters, raw: display code sanitises

    @property
    def idle_in_transaction(self) -> bool:
        return self.state.startswith("idle in transaction")


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
        )
        for r in rows
    ]


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


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
