"""Each rule on constructed samples: it names the villain with the evidence, and stays quiet on
a healthy busy server. Pure: no database here."""

from __future__ import annotations

import pytest

from tests.findings.samples import (
    churning,
    healthy,
    host,
    locks,
    sample,
    slow,
    storm,
)
from warroom.collectors.alerts import ConfigError, parse_config
from warroom.collectors.findings import FindingsEngine, Transition
from warroom.collectors.sample import Failure, FailureKind, PgSample


def run(engine: FindingsEngine, samples: list) -> list:
    events = []
    for s in samples:
        events += engine.feed(s)
    return events


def test_a_healthy_busy_server_gives_no_finding() -> None:
    engine = FindingsEngine()
    engine.feed_host(host(85.0))
    assert run(engine, [healthy(i) for i in range(120)]) == []
    assert engine.active() == []


def test_one_application_holding_the_pool_is_named_with_its_idle_transactions() -> None:
    engine = FindingsEngine()
    events = run(engine, [storm(i) for i in range(3)])
    pool = [e for e in events if e.finding.rule == "pool"]
    assert len(pool) == 1 and pool[0].state is Transition.RAISED
    assert pool[0].finding.text.startswith("shop-api holds 46 of 47 usable slots; 46 idle in")
    assert pool[0].finding.evidence["count"] == 46
    assert engine.active()[0].rule == "pool"  # critical ranks first


def test_the_held_connection_rules_the_network_out_while_connects_are_refused() -> None:
    engine = FindingsEngine()
    run(engine, [storm(i) for i in range(3)])
    texts = [f.text for f in engine.active() if f.rule == "network_fine"]
    assert texts == [
        "round trip on the held connection 0.6 ms while new connections are refused (53300): "
        "the network is fine, the server is full"
    ]


def test_the_lock_chain_root_is_the_blocking_batch_job() -> None:
    engine = FindingsEngine()
    run(engine, [locks(i) for i in range(3)])
    root = [f for f in engine.active() if f.rule == "lock_root"]
    assert len(root) == 1
    assert root[0].text.startswith("pid 123 (shop-batch, idle in transaction 4m00s) blocks 14")
    assert root[0].evidence["pid"] == 123


def test_brief_lock_waits_are_no_lock_finding() -> None:
    engine = FindingsEngine()
    run(engine, [locks(i, wait_s=0.5) for i in range(10)])
    assert [f for f in engine.active() if f.rule == "lock_root"] == []


def test_a_dominant_slow_statement_is_shown_with_its_text() -> None:
    engine = FindingsEngine()
    run(engine, [slow(i) for i in range(3)])
    (stmt,) = [f for f in engine.active() if f.rule == "statement"]
    assert stmt.text.startswith("one statement is 92 % of database time in the last 60 s")
    assert stmt.text.endswith("SELECT * FROM orders WHERE customer_id = $1")


def test_churn_against_the_servers_own_baseline() -> None:
    engine = FindingsEngine()
    quiet = [churning(i, rate=2.0) for i in range(30)]
    events = run(engine, quiet + [churning(30 + i) for i in range(5)])
    assert [e.state for e in events if e.finding.rule == "churn"] == [Transition.RAISED]
    (churn,) = [f for f in engine.active() if f.rule == "churn"]
    assert churn.text == (
        "40 sessions/s came and went from shop-api, 36 abandoned (before: 2/s): "
        "connect-per-request, or a pool that keeps reconnecting"
    )
    assert churn.evidence["baseline_per_s"] == 2.0


def test_a_sustained_storm_stays_raised_while_it_lasts_and_clears_with_the_numbers_then() -> None:
    engine = FindingsEngine()
    quiet = [churning(i, rate=2.0) for i in range(30)]
    # Ten minutes of storm: more than the whole history, which a median would have learnt.
    events = run(engine, quiet + [churning(30 + i, rate=180.0) for i in range(600)])
    assert [e.state for e in events] == [Transition.RAISED]
    (churn,) = engine.active()
    assert churn.text.startswith("180 sessions/s came and went from shop-api")
    assert churn.evidence["baseline_per_s"] == 2.0
    # Over: the finding waits to clear showing the rate now, and clears with it.
    after = run(engine, [churning(630 + i, rate=1.0) for i in range(6)])
    assert [e.state for e in after] == [Transition.CLEARED]
    assert after[0].message == (
        "no longer holds: now 1 sessions/s come and go (before the storm: 2/s), 36 abandoned"
    )
    assert after[0].finding.evidence["came_and_went_per_s"] == 1.0


def test_new_sessions_that_stay_are_no_churn() -> None:
    # A pool warming up, then a deploy replacing it: many new sessions, none of them leaving.
    engine = FindingsEngine()
    samples = [churning(i, rate=0.0) for i in range(30)]
    samples += [churning(30 + i, rate=0.0, stayed=30) for i in range(5)]
    assert run(engine, samples) == []


def test_churn_below_the_threshold_or_the_baseline_is_no_finding() -> None:
    strict = FindingsEngine(parse_config({"findings": {"churn": {"min_per_s": 20}}}).findings)
    assert run(strict, [churning(i, rate=15.0) for i in range(60)]) == []
    # Twice this server's usual rate is not three times it.
    usual = FindingsEngine(parse_config({"findings": {"churn": {"min_per_s": 13}}}).findings)
    before = [churning(i, rate=12.0) for i in range(60)]
    assert run(usual, before + [churning(60 + i, rate=24.0) for i in range(5)]) == []


def test_host_cpu_idle_while_sessions_wait_says_waiting_not_working() -> None:
    engine = FindingsEngine()
    engine.feed_host(host(6.0))
    run(engine, [locks(i) for i in range(3)])
    (w,) = [f for f in engine.active() if f.rule == "waiting"]
    assert "host CPU idle (6 % busy)" in w.text and "14 sessions are waiting" in w.text
    busy = FindingsEngine()
    busy.feed_host(host(95.0))
    run(busy, [locks(i) for i in range(3)])
    assert [f for f in busy.active() if f.rule == "waiting"] == []


def test_hysteresis_one_raise_one_clear_and_down_samples_change_nothing() -> None:
    engine = FindingsEngine()
    seq = [storm(0), storm(1), healthy(2)]
    events = run(engine, seq)
    assert [e.state for e in events if e.finding.rule == "pool"] == [Transition.RAISED]
    gone = PgSample(at=storm(3).at, status="down", error=Failure(FailureKind.UNREACHABLE, "x"))
    assert engine.feed(gone) == []
    events = run(engine, [healthy(4), healthy(5)])
    cleared = [e for e in events if e.finding.rule == "pool"]
    assert [e.state for e in cleared] == [Transition.CLEARED]
    assert cleared[0].message.startswith("no longer holds: shop-api holds 46")


def test_thresholds_come_from_the_findings_tables_of_the_config_file() -> None:
    config = parse_config({"findings": {"pool": {"share": 99, "raise_after": 1}}})
    engine = FindingsEngine(config.findings)
    assert [f for f in run(engine, [storm(0)]) if f.finding.rule == "pool"] == []
    loose = FindingsEngine(parse_config({"findings": {"pool": {"raise_after": 1}}}).findings)
    assert next(e.finding.rule for e in loose.feed(storm(0))) == "pool"
    with pytest.raises(ConfigError, match=r"findings\.pool\.shares: unknown setting"):
        parse_config({"findings": {"pool": {"shares": 1}}})
    with pytest.raises(ConfigError, match=r"findings\.nope: unknown rule"):
        parse_config({"findings": {"nope": {}}})


def test_a_rule_that_cannot_say_its_numbers_now_clears_with_their_age() -> None:
    # lock_root has no describe(): its last figures are shown, never as if they were current.
    engine = FindingsEngine()
    run(engine, [locks(i) for i in range(3)])
    (held,) = [f.text for f in engine.active() if f.rule == "lock_root"]
    waiting = run(engine, [sample(3)])
    assert waiting == []
    (shown,) = [f.text for f in engine.active() if f.rule == "lock_root"]
    assert shown == f"{held} (the figures of 1 s ago, when it last held)"
    cleared = [e for e in run(engine, [sample(4), sample(5)]) if e.finding.rule == "lock_root"]
    assert [e.state for e in cleared] == [Transition.CLEARED]
    assert cleared[0].message == (
        f"no longer holds: {held} (the figures of 3 s ago, when it last held)"
    )
