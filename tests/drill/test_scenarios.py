"""Each scenario reaches its signature signal, seen the way warroom sees it, and its fix works."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from drill_support import poll

from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import PgSample
from warroom.drill.runner import DrillRun
from warroom.drill.scenarios import SCENARIOS, get, listing

SPEED = 8.0


def sample_until(
    collector: PostgresCollector, ok: Callable[[PgSample], bool], timeout: float, what: str
) -> PgSample:
    deadline = time.monotonic() + timeout
    last: PgSample | None = None
    while time.monotonic() < deadline:
        last = collector.sample()
        if ok(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s; last sample: {last}")


def test_every_scenario_is_listed_on_one_line() -> None:
    lines = listing()
    assert [line.split()[0] for line in lines] == list(SCENARIOS) == ["storm", "locks", "slow"]
    assert all("\n" not in line for line in lines)
    assert "(default)" in lines[0]


def test_locks_queue_behind_one_transaction_until_the_batch_job_stops(
    drill_dirs: dict[str, Path],
) -> None:
    with DrillRun(get("locks"), speed=SPEED, marker_dir=drill_dirs["runtime"]) as run:
        collector = PostgresCollector(run.monitor_dsn, interval=1.0)
        try:
            run.begin()
            blocked = sample_until(
                collector,
                lambda s: s.connections is not None and s.connections.waiting >= 3,
                30, "lock waits",
            )  # fmt: skip
            blockers = {pid for b in blocked.blocked for pid in b.blocked_by}
            waiting_apps = {b.application for b in blocked.blocked}
            assert waiting_apps == {"shop-api"}
            holder = sample_until(collector, lambda s: s.oldest_idle_xact_s is not None, 10,
                                  "the blocker sits idle in transaction")
            assert holder.oldest_idle_xact_s is not None
            batch = collector.list_backends()
            assert not isinstance(batch, Exception) and isinstance(batch, list)
            assert {b.pid for b in batch if b.application == "shop-batch"} & blockers
            print(run.actions()[0].run())
            sample_until(
                collector,
                lambda s: s.connections is not None and s.connections.waiting == 0
                and "shop-batch" not in {c.name for c in s.connections.by_application},
                20, "queue drained",
            )  # fmt: skip
            updates = run.status("shop-api")["requests"]
            poll(lambda: run.status("shop-api")["requests"] > updates + 10, 10,
                 "updates flowing again")
        finally:
            collector.close()


def test_slow_search_pages_on_latency_until_the_index_exists(
    drill_dirs: dict[str, Path],
) -> None:
    pages: list[tuple[str, str]] = []
    with DrillRun(get("slow"), speed=SPEED, marker_dir=drill_dirs["runtime"]) as run:
        collector = PostgresCollector(run.monitor_dsn, interval=1.0)
        try:
            run.begin()
            run.watch_services(lambda service, text: pages.append((service, text)))
            poll(lambda: run.done_steps, 20, "the release step")
            # "Normal" was measured on the indexed lookups, before the release: a slow start
            # of the generators must not let the first seq scans into the baseline.
            normal = run.normal_p95["shop-search"]
            poll(lambda: any("p95 request latency" in t for _, t in pages), 40,
                 lambda: f"latency page from shop-search (normal p95 {normal} ms; "
                 f"now {run.status('shop-search')}; pages {pages})")
            busy = sample_until(
                collector,
                lambda s: s.connections is not None
                and s.connections.by_state.get("active", 0) >= 4
                and s.longest_query is not None and "customer_id" in s.longest_query.query,
                20, "searches piling up",
            )  # fmt: skip
            assert busy.longest_query is not None
            assert busy.longest_query.application == "shop-search"
            assert "created the missing index" in run.actions()[0].run()
            poll(lambda: any("back to normal" in t for _, t in pages), 30, "latency recovered")
        finally:
            collector.close()
    assert [s for s, _ in pages] == ["shop-search", "shop-search"]


def test_terminating_shop_api_in_the_backends_path_frees_the_slots(
    drill_dirs: dict[str, Path],
) -> None:
    with DrillRun(get("storm"), speed=SPEED, marker_dir=drill_dirs["runtime"]) as run:
        collector = PostgresCollector(run.monitor_dsn, interval=1.0)
        try:
            run.begin()
            sample_until(
                collector,
                lambda s: s.connections is not None and s.connections.saturation >= 0.95,
                40, "saturation",
            )  # fmt: skip
            # What `b` then `X` on a shop-api row does, as the monitoring role (not a superuser).
            killed = collector.signal_backends(application="shop-api", terminate=True)
            assert isinstance(killed, int) and killed >= 40
            # The pool refills from its base size, not all at once: the slots come back now.
            after = sample_until(
                collector,
                lambda s: s.connections is not None and s.connections.saturation < 0.5,
                10, "slots freed",
            )  # fmt: skip
            assert after.connections is not None
            # The misconfigured pool restarted from its base size and refills slowly.
            poll(lambda: run.status("shop-api").get("target", 99) < 20, 10,
                 "shop-api's pool restarted small")
            assert run.status("shop-api")["killed"] >= 1
        finally:
            collector.close()
