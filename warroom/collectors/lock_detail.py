"""Which lock a chain's root holds: one small pg_locks read, sent only while sessions wait.

pg_locks takes every lock-manager partition lock, so the sample query never reads it; when the
sample shows roots (someone waits on a lock), this statement names, for each root, the locks
it holds that its direct waiters queue for: ``ExclusiveLock on transactionid 1234`` for a row
(with the relation of the rows, from the tuple lock the first waiter holds),
``AccessExclusiveLock on relation orders`` for a table. One snapshot of pg_locks
(MATERIALIZED) serves every reference to it. The statement is pg_queries.LOCK_DETAIL_SQL.
"""

from __future__ import annotations

import json
from dataclasses import replace

from warroom.collectors.sample import BlockedBackend, HeldLock, LockRoot


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
