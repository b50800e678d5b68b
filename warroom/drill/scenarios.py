"""The drills: what each fake service does, when things go wrong, and the fixes a drill offers.

Times are in drill seconds at speed 1; the runner divides them by ``--speed`` (tests compress
them). A scenario knows nothing of processes or Textual: it talks to the runner through
``Controls``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Controls(Protocol):
    """What a scenario may do to the running drill."""

    speed: float

    def send(self, service: str, command: dict[str, Any]) -> None: ...

    def set_delay(self, seconds: float) -> None: ...

    def execute(self, sql: str) -> None: ...

    def status(self, service: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One fake service: a load generator process (see loadgen.py for the options)."""

    app: str
    request: str
    pool: int
    think: float = 0.5
    leak: float = 0.0
    on_kill: str = "reramp"


@dataclass(frozen=True, slots=True)
class Step:
    at: float  # drill seconds after the dashboard opens
    run: Callable[[Controls], None]
    what: str  # for the runner's log and tests; never shown on the timeline (no spoilers)


@dataclass(frozen=True, slots=True)
class Fix:
    key: str
    label: str
    help: str
    run: Callable[[Controls], str]  # returns the timeline text of what was done


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    summary: str  # one line for `warroom demo --list`
    title: str  # the incident's title
    signal: str  # the signature signal the scenario reaches
    setup: tuple[str, ...]
    services: tuple[ServiceSpec, ...]
    steps: tuple[Step, ...]
    fixes: tuple[Fix, ...] = field(default=())


# -- storm: the reference postmortem, replayed ------------------------------------------------

STORM_POOL_MAX = 70  # more than the sandbox has: the misconfiguration
SANE_POOL = 5


def _storm_deploy(c: Controls) -> None:
    # The release that ships the bad pool config: max 70 and a path that never commits.
    c.send("shop-api", {"leak": 0.35, "ramp": [STORM_POOL_MAX, 45.0 / c.speed]})


def _storm_fix(c: Controls) -> str:
    before = c.status("shop-api")
    c.send("shop-api", {"pool": SANE_POOL, "leak": 0.0})
    return (
        f"drill: reconfigured shop-api's connection pool: max {SANE_POOL} connections, every "
        f"transaction committed (it held {before.get('open', '?')} connections, pool max "
        f"{STORM_POOL_MAX})"
    )


_ORDERS_SMALL = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL,"
    " total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    "INSERT INTO orders (id, customer_id, total)"
    " SELECT g, g % 5000, (g % 997) / 10.0 FROM generate_series(1, 50000) g",
    "ANALYZE orders",
)

STORM = Scenario(
    name="storm",
    summary="shop-api's misconfigured pool saturates the database, plus a decoy network blip "
    "(the reference postmortem)",
    title="Drill: shop-api errors and slow responses, orders database",
    signal="saturation",
    setup=_ORDERS_SMALL,
    services=(ServiceSpec("shop-api", "lookup", pool=SANE_POOL, think=0.5),),
    steps=(
        Step(10.0, _storm_deploy, "shop-api deploys a pool with max 70 that leaks transactions"),
        Step(25.0, lambda c: c.set_delay(0.15), "decoy: +150 ms each way on the monitor's path"),
        Step(45.0, lambda c: c.set_delay(0.0), "decoy over"),
    ),
    fixes=(
        Fix("f", "Fix pool", "Drill: reconfigure shop-api's connection pool to a sane size",
            _storm_fix),
    ),
)


# -- locks: one long transaction, a queue behind it -------------------------------------------


def _locks_fix(c: Controls) -> str:
    c.send("shop-batch", {"pool": 0})
    return "drill: stopped the shop-batch job; its transaction rolled back and released the lock"


LOCKS = Scenario(
    name="locks",
    summary="a batch job's long transaction holds a hot row; shop-api's updates queue behind it",
    title="Drill: checkout hangs, orders database",
    signal="lock waits",
    setup=(
        "CREATE TABLE inventory (sku text PRIMARY KEY, qty int NOT NULL)",
        "INSERT INTO inventory SELECT 'sku-' || g, 1000000 FROM generate_series(1, 1000) g",
        "INSERT INTO inventory VALUES ('hot', 1000000000)",
    ),
    services=(
        ServiceSpec("shop-batch", "hold", pool=0, on_kill="stop"),
        ServiceSpec("shop-api", "hot-update", pool=8, think=0.3),
    ),
    steps=(
        Step(8.0, lambda c: c.send("shop-batch", {"pool": 1}),
             "shop-batch opens a transaction on the hot row and never commits"),
    ),
    fixes=(
        Fix("f", "Stop batch", "Drill: stop the shop-batch job (its transaction rolls back)",
            _locks_fix),
    ),
)


# -- slow: a missing index under load ---------------------------------------------------------

SLOW_ROWS = 600_000


def _slow_fix(c: Controls) -> str:
    c.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx"
              " ON orders (customer_id)")
    c.execute("ANALYZE orders")
    return "drill: created the missing index orders_customer_id_idx on orders (customer_id)"


SLOW = Scenario(
    name="slow",
    summary="a release adds a query on an unindexed column: sequential scans pile up under load",
    title="Drill: search is slow, orders database",
    signal="latency",
    setup=(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL,"
        " total numeric(10,2) NOT NULL, note text NOT NULL)",
        "INSERT INTO orders (id, customer_id, total, note)"
        f" SELECT g, g % 5000, (g % 997) / 10.0, repeat('x', 60)"
        f" FROM generate_series(1, {SLOW_ROWS}) g",
        "ANALYZE orders",
    ),
    services=(ServiceSpec("shop-search", "point", pool=4, think=0.1),),
    steps=(
        Step(8.0, lambda c: c.send("shop-search", {
            "request": "search", "ramp": [8, 10.0 / c.speed], "think": 0.05,
        }), "the release ships a search by customer: every one is a sequential scan"),
    ),
    fixes=(
        Fix("f", "Add index", "Drill: create the missing index on orders (customer_id)",
            _slow_fix),
    ),
)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (STORM, LOCKS, SLOW)}
DEFAULT = "storm"


def get(name: str | None) -> Scenario:
    scenario = SCENARIOS.get(name or DEFAULT)
    if scenario is None:
        known = ", ".join(SCENARIOS)
        raise KeyError(f"no scenario {name!r} (known: {known}; `warroom demo --list`)")
    return scenario


def listing() -> list[str]:
    width = max(len(n) for n in SCENARIOS)
    return [
        f"{s.name:<{width}}  {s.summary}" + ("  (default)" if s.name == DEFAULT else "")
        for s in SCENARIOS.values()
    ]
