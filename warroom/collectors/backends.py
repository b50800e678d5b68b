"""The backends view's data and its two actions: list client backends, cancel or terminate them.

Both run on the collector's held monitoring connection: during a connection storm it is the one
connection we are sure to have. Listing is on demand (only while the view is open), capped, and
one round trip that returns JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Ordered by how long the current query (or open transaction) has run: the culprit first.
LIST_SQL = """
SELECT coalesce(json_agg(b ORDER BY b.age DESC NULLS LAST), '[]')::text FROM (
  SELECT pid,
         coalesce(application_name, '') AS application,
         coalesce(usename::text, '') AS "user",
         coalesce(host(client_addr), 'local') AS client,
         coalesce(state, '') AS state,
         extract(epoch FROM now() - xact_start)::float8 AS xact_s,
         extract(epoch FROM now() - query_start)::float8 AS query_s,
         extract(epoch FROM now() - state_change)::float8 AS state_s,
         coalesce(wait_event_type, '') AS wait_type,
         coalesce(wait_event, '') AS wait_event,
         CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) ELSE '{}' END AS blocked_by,
         left(query, 200) AS query,
         greatest(now() - xact_start, now() - query_start) AS age
  FROM pg_stat_activity
  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
    AND application_name IS DISTINCT FROM 'warroom-probe'
  ORDER BY greatest(now() - xact_start, now() - query_start) DESC NULLS LAST
  LIMIT $1
) b
"""

# One statement per action; the count is of backends PostgreSQL agreed to signal.
SIGNAL_PIDS_SQL = """
SELECT count(*) FILTER (WHERE CASE WHEN $2 THEN pg_terminate_backend(p)
                                   ELSE pg_cancel_backend(p) END)
FROM unnest($1::int[]) AS p
WHERE p <> pg_backend_pid()
"""
SIGNAL_APP_SQL = """
SELECT count(*) FILTER (WHERE CASE WHEN $2 THEN pg_terminate_backend(pid)
                                   ELSE pg_cancel_backend(pid) END)
FROM pg_stat_activity
WHERE application_name = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""


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
