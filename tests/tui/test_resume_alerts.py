"""A dashboard that resumes a session (its own after a restart, or the one the recorder opened
at the alert) starts from the alerts its timeline leaves raised: it neither logs nor sends them
again, and logs the clear when the alert ends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tui_support import T0, Clock, make_app, new_store, sample, settled

from warroom.collectors.alerts import AlertEngine
from warroom.sessions.model import Kind, Source, TimelineEntry
from warroom.sessions.store import Store, load


def alert_texts(store: Store) -> list[str]:
    return [e.text for e in load(store.path).incident.entries_in_order() if e.kind is Kind.ALERT]


@pytest.mark.asyncio
async def test_a_resumed_dashboard_does_not_raise_again_what_the_record_says_is_raised(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path)
    # As the first dashboard (or the recorder's opener) left it: critical, never cleared.
    store.append_entry(TimelineEntry(
        at=T0 + timedelta(minutes=9), kind=Kind.ALERT, author="warroom", source=Source.AUTO,
        text="raised CRITICAL saturation 96% >= 95% (45/47 usable)"))  # fmt: skip
    clock = Clock(T0 + timedelta(minutes=12))
    app = make_app(Store.open(store.path), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        # Still full: the same alert, active since the record's time, and no second entry.
        for n in range(5):
            app.feed(sample(clock.now + timedelta(seconds=n), total=46, max_connections=50))
        await settled(pilot, app)
        assert [a.rule for a in app.state.engine.active()] == ["saturation"]
        assert app.state.engine.active()[0].since == T0 + timedelta(minutes=9)
        assert len(alert_texts(store)) == 1
        # The pool backs off: the clear is logged, once.
        for n in range(5, 12):
            app.feed(sample(clock.now + timedelta(seconds=n), total=10, max_connections=50))
        await settled(pilot, app)
    texts = alert_texts(store)
    assert len(texts) == 2 and texts[1].startswith("cleared saturation"), texts


def test_the_engine_reads_raises_level_changes_and_clears_in_order() -> None:
    at = T0
    engine = AlertEngine()
    engine.resume([
        (at, "raised WARNING saturation 81% >= 80% (38/47 usable)"),
        (at, "note text that is no alert"),
        (at, "raised CRITICAL saturation 96% >= 95% (45/47 usable)"),
        (at, "raised CRITICAL new connections refused: too_many_connections 53300"),
        (at, "cleared new connections refused"),
        (at, "raised WARNING sessions waiting on locks 3 >= 1"),
        (at, "lowered to WARNING saturation 85% < 90%"),
    ])  # fmt: skip
    assert {(a.rule, a.level.value) for a in engine.active()} == {
        ("saturation", "warning"), ("lock_waits", "warning")}


def test_a_rule_switched_off_since_is_not_resumed() -> None:
    from dataclasses import replace

    from warroom.collectors.alerts_config import AlertConfig

    config = AlertConfig()
    rules = dict(config.rules)
    rules["saturation"] = replace(rules["saturation"], enabled=False)
    engine = AlertEngine(replace(config, rules=rules))
    # Never evaluated here, so it could never clear: left out rather than shown forever.
    engine.resume([(T0, "raised CRITICAL saturation 96% >= 95% (45/47 usable)")])
    assert engine.active() == []
