"""Each drill names its villain: the finding appears within 15 s of the trouble, seen the way
warroom sees it (the monitoring role, through the decoy proxy), with the evidence."""

from __future__ import annotations

import time
from pathlib import Path

from drill_support import poll

from warroom.collectors.findings import Finding, FindingsEngine
from warroom.collectors.postgres import PostgresCollector
from warroom.drill.runner import DrillRun
from warroom.drill.scenarios import get

SPEED = 8.0
WITHIN_S = 15.0


def first_finding(run: DrillRun, rule: str, after_steps: int) -> Finding:
    """Sample once a second from when the scenario's trouble starts until ``rule`` is raised."""
    collector = PostgresCollector(run.monitor_dsn, interval=1.0)
    engine = FindingsEngine()
    try:
        poll(lambda: collector.sample().up, 20, "the monitor connects")
        run.begin()
        poll(lambda: len(run.done_steps) >= after_steps, 20, "the trouble starts")
        deadline = time.monotonic() + WITHIN_S
        seen: list[str] = []
        while time.monotonic() < deadline:
            started = time.monotonic()
            engine.feed(collector.sample())
            active = engine.active()
            seen = [f.text for f in active]
            for finding in active:
                if finding.rule == rule:
                    return finding
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        raise AssertionError(f"no {rule} finding within {WITHIN_S}s; findings: {seen}")
    finally:
        collector.close()


def test_storm_names_shop_apis_pool(drill_dirs: dict[str, Path]) -> None:
    with DrillRun(get("storm"), speed=SPEED, marker_dir=drill_dirs["runtime"]) as run:
        finding = first_finding(run, "pool", after_steps=1)
    assert finding.subject == "shop-api"
    assert finding.text.startswith("shop-api holds ")
    assert finding.evidence["count"] >= 0.6 * finding.evidence["usable"]


def test_locks_name_the_blocking_batch_job(drill_dirs: dict[str, Path]) -> None:
    with DrillRun(get("locks"), speed=SPEED, marker_dir=drill_dirs["runtime"]) as run:
        finding = first_finding(run, "lock_root", after_steps=1)
        batch = {b.pid for b in run_backends(run) if b.application == "shop-batch"}
    assert finding.evidence["application"] == "shop-batch"
    assert finding.evidence["pid"] in batch
    assert "(shop-batch, idle in transaction" in finding.text


def test_slow_names_the_statement(drill_dirs: dict[str, Path]) -> None:
    with DrillRun(get("slow"), speed=SPEED, marker_dir=drill_dirs["runtime"]) as run:
        finding = first_finding(run, "statement", after_steps=1)
    assert "customer_id" in finding.evidence["query"]
    assert finding.evidence["share"] >= 0.8


def run_backends(run: DrillRun) -> list:
    with PostgresCollector(run.monitor_dsn, interval=1.0, probe_every=0) as col:
        poll(lambda: col.sample().up, 10, "monitor")
        listed = col.list_backends()
    assert isinstance(listed, list)
    return listed
