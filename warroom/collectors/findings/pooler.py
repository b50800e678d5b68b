"""A PgBouncer pool is the bottleneck: its clients queue while all its server connections work.

The database can be far from full: the limit is the pool's size (``default_pool_size``), so
the saturation alert and the pool rule see nothing while a service's requests wait in
PgBouncer. The finding names the pool (database and user) and the clients queueing in it, by
application and address (``SHOW CLIENTS``).
"""

from __future__ import annotations

from datetime import timedelta

from warroom.collectors.bouncer_sample import ClientGroup, PoolStats
from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.sanitize import one_line

# A PgBouncer sample older than this says nothing about now (its collector stalled).
STALE = timedelta(seconds=15)
SHOWN_GROUPS = 3  # in the text; the evidence keeps every group the collector read


def _who(group: ClientGroup) -> str:
    app = one_line(group.application or "(no application_name)", 64)
    return f"{app} at {one_line(group.address, 64)} ({group.waiting} waiting)"


class Pooler:
    name = "pooler"
    # It reads PgBouncer's figures, not the server's: a server full enough that warroom counts
    # its process titles still has a pooler to judge.
    process_titles = True

    def evaluate(self, ctx: Context) -> list[Finding]:
        bouncer = ctx.bouncer
        if bouncer is None or not bouncer.up or abs(ctx.sample.at - bouncer.at) > STALE:
            return []
        s = ctx.settings
        return [
            self._finding(ctx, pool)
            for pool in bouncer.pools
            # A free server connection means the queue is a moment's, not a full pool.
            if pool.cl_waiting >= max(s["min_waiting"], 1)
            and pool.maxwait_s >= s["min_wait_s"]
            and pool.sv_idle == 0
        ]

    def _finding(self, ctx: Context, pool: PoolStats) -> Finding:
        name = f"{one_line(pool.database, 64)}/{one_line(pool.user, 64)}"
        waiting = [g for g in pool.clients if g.waiting]
        text = (
            f"PgBouncer pool {name}: {pool.cl_waiting} clients waiting up to "
            f"{pool.maxwait_s:.0f} s, all {pool.sv_active} server connections busy"
        )
        if waiting:
            text += "; waiting: " + ", ".join(_who(g) for g in waiting[:SHOWN_GROUPS])
            if len(waiting) > SHOWN_GROUPS:
                text += f" +{len(waiting) - SHOWN_GROUPS} more"
        conns = ctx.sample.connections
        saturation = None
        if conns is not None and conns.max:
            saturation = conns.saturation * 100.0
            text += f"; the database is {saturation:.0f} % full"
        evidence = {
            "database": pool.database, "user": pool.user, "cl_waiting": pool.cl_waiting,
            "cl_active": pool.cl_active, "sv_active": pool.sv_active, "sv_idle": pool.sv_idle,
            "maxwait_s": round(pool.maxwait_s, 3),
            "clients": [g.to_json() for g in pool.clients],
            "database_saturation": None if saturation is None else round(saturation, 1),
        }  # fmt: skip
        critical = pool.maxwait_s >= ctx.settings["critical_wait_s"]
        return Finding(self.name, f"pool {name}",
                       Severity.CRITICAL if critical else Severity.WARNING, text, evidence,
                       float(pool.cl_waiting))  # fmt: skip
