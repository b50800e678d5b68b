"""Which lock a chain's root holds: one small pg_locks read, sent only while sessions wait.

pg_locks takes every lock-manager partition lock, so the sample query never reads it; when the
sample shows roots (someone waits on a lock), this statement names, for each root, the locks
it holds that its direct waiters queue for: ``ExclusiveLock on transactionid 1234`` for a row
(with the relation of the rows, from the tuple lock the first waiter holds),
``AccessExclusiveLock on relation orders`` for a table. One snapshot of pg_locks
(MATERIALIZED) serves every reference to it.
"""

from __future__ import annotations

import json
from dataclasses import replace

from warroom.collectors.sample import BlockedBackend, HeldLock, LockRoot

# $1: the roots' pids; $2: the pids waiting on a lock.
SQL = """
WITH k AS MATERIALIZED (
    SELECT pid, locktype, mode, granted, database, relation, page, tuple, virtualxid,
           transactionid, classid, objid, objsubid
    FROM pg_locks WHERE pid = ANY ($1::int[]) OR pid = ANY ($2::int[])
), w AS (
    SELECT * FROM k WHERE NOT granted AND pid = ANY ($2::int[])
)
SELECT coalesce(json_agg(json_build_array(
           h.pid, h.locktype, h.mode,
           CASE WHEN h.relation IS NOT NULL THEN h.relation::regclass::text END,
           coalesce(h.transactionid::text, h.virtualxid,
                    CASE WHEN h.tuple IS NOT NULL THEN '(' || h.page || ',' || h.tuple || ')' END,
                    h.page::text, h.objid::text, ''),
           -- A row lock is a wait on the holder's transaction id; the first waiter holds the
           -- tuple lock, and its relation is the table of the row.
           CASE WHEN h.locktype = 'transactionid' THEN
               (SELECT json_agg(DISTINCT t.relation::regclass::text) FROM k t
                WHERE t.locktype = 'tuple' AND t.pid IN
                      (SELECT x.pid FROM w x WHERE x.locktype = 'transactionid'
                       AND x.transactionid = h.transactionid)) END
       ) ORDER BY h.pid, h.locktype), '[]')
FROM k h
WHERE h.granted AND h.pid = ANY ($1::int[])
  AND EXISTS (SELECT 1 FROM w
              WHERE w.locktype = h.locktype
                AND w.database IS NOT DISTINCT FROM h.database
                AND w.relation IS NOT DISTINCT FROM h.relation
                AND w.page IS NOT DISTINCT FROM h.page
                AND w.tuple IS NOT DISTINCT FROM h.tuple
                AND w.virtualxid IS NOT DISTINCT FROM h.virtualxid
                AND w.transactionid IS NOT DISTINCT FROM h.transactionid
                AND w.classid IS NOT DISTINCT FROM h.classid
                AND w.objid IS NOT DISTINCT FROM h.objid
                AND w.objsubid IS NOT DISTINCT FROM h.objsubid)
"""


def params(roots: tuple[LockRoot, ...], blocked: tuple[BlockedBackend, ...]) -> list[bytes | None]:
    """The statement's parameters, as libpq text: two int arrays."""

    def array(pids: list[int]) -> bytes:
        return ("{" + ",".join(str(p) for p in pids) + "}").encode()

    return [array([r.pid for r in roots]), array([b.pid for b in blocked])]


def attach(roots: tuple[LockRoot, ...], text: str | None) -> tuple[LockRoot, ...]:
    """The roots with the locks they hold; unchanged when the read failed (``text`` None)."""
    if not text:
        return roots
    held: dict[int, list[HeldLock]] = {}
    for pid, locktype, mode, relation, target, rows in json.loads(text):
        name = relation or ", ".join(str(r) for r in rows or ())
        held.setdefault(int(pid), []).append(
            HeldLock(str(locktype), str(mode), str(name or ""), str(target or ""))
        )
    return tuple(replace(r, holds=tuple(held.get(r.pid, ()))) for r in roots)
