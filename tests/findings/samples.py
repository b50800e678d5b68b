"""Constructed samples for the rule tests: what the collector would report in each situation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from warroom.collectors.host import HostSample
from warroom.collectors.sample import (
    BlockedBackend,
    Churn,
    Connections,
    Count,
    Failure,
    FailureKind,
    Group,
    IdleTxApp,
    LockRoot,
    LongQuery,
    PgSample,
    Statement,
    WaitCount,
)

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 + timedelta(seconds=i)


def conns(total: int, apps: dict[str, int], *, max_: int = 50, reserved: int = 3,
          by_state: dict[str, int] | None = None, waiting: int = 0) -> Connections:
    return Connections(
        total=total, max=max_, reserved=reserved, by_state=by_state or {"idle": total},
        waiting=waiting,
        by_application=tuple(Count(k, v) for k, v in sorted(apps.items(), key=lambda kv: -kv[1])),
    )


def sample(i: int, **kw: Any) -> PgSample:
    kw.setdefault("connections", conns(5, {"shop-api": 5}))
    kw.setdefault("query_ms", 0.5)
    return PgSample(at=at(i), status="up", **kw)


def healthy(i: int) -> PgSample:
    """A busy, healthy server: pgbench-like, brief lock waits, one hot cheap statement."""
    return sample(
        i,
        connections=conns(6, {"pgbench": 4, "cron": 2}, by_state={"active": 4, "idle": 2},
                          waiting=1),
        waits=(WaitCount("Lock", "transactionid", 1), WaitCount("Client", "ClientRead", 2)),
        blocked=(BlockedBackend(101, (102,), "pgbench", 0.004, "UPDATE pgbench_branches"),),
        lock_roots=(LockRoot(102, "pgbench", "app", "active", 0.01, 0.01, 1, "UPDATE ..."),),
        statements=(Statement(1, "UPDATE pgbench_accounts SET ...", 9000.0, 9000, 0.85, 60.0),),
        churn=Churn(1.0, 0, 0, 0, 0),
        tps=900.0,
    )


def storm(i: int, held: int = 46) -> PgSample:
    return sample(
        i,
        connections=conns(held + 1, {"shop-api": held, "cron": 1},
                          by_state={"idle in transaction": held, "active": 1}),
        idle_tx_apps=(IdleTxApp("shop-api", held, 75.0),),
        probe_error=Failure(FailureKind.TOO_MANY_CONNECTIONS, "sorry, too many clients", "53300"),
        query_ms=0.6,
    )


def locks(i: int, wait_s: float = 20.0) -> PgSample:
    blocked = tuple(
        BlockedBackend(200 + k, (123,), "shop-api", wait_s - k * 0.1, "UPDATE inventory ...")
        for k in range(14)
    )
    return sample(
        i,
        connections=conns(16, {"shop-api": 15, "shop-batch": 1}, waiting=14),
        blocked=blocked,
        lock_roots=(LockRoot(123, "shop-batch", "app", "idle in transaction", 240.0, 238.0, 14,
                             "UPDATE inventory SET qty = qty - 1 WHERE sku = 'hot'"),),
        waits=(WaitCount("Lock", "transactionid", 14),),
        longest_query=LongQuery(201, wait_s, "shop-api", "app", "active", "UPDATE inventory"),
    )


def slow(i: int) -> PgSample:
    return sample(
        i,
        statements=(
            Statement(77, "SELECT * FROM orders WHERE customer_id = $1", 48_000.0, 400, 0.92, 60.0),
            Statement(78, "SELECT * FROM orders WHERE id = $1", 2_000.0, 20_000, 0.04, 60.0),
        ),
        query_ms=180.0,
    )


def churning(i: int, rate: float = 40.0, stayed: int = 3) -> PgSample:
    """``rate`` sessions a second that came and went, beside ``stayed`` new ones that stayed."""
    return sample(
        i,
        churn=Churn(1.0, int(rate) + stayed, 12, 0, 0, (Count("shop-api", stayed),),
                    came_and_went=int(rate),
                    new_by_group=(Group("shop-api", "app", stayed, (Count("10.0.0.5", 3),), 1),)),
    )  # fmt: skip


def host(cpu: float, i: int = 0) -> HostSample:
    return HostSample(at=at(i), cpu_percent=cpu, mem_percent=40.0, swap_percent=0.0,
                      load1=0.1, load5=0.1, load15=0.1)
