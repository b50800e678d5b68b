"""Alert rules as the timeline sees them: one entry per transition, never a flood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.collectors.alerts import (
    AlertConfig,
    AlertEngine,
    AlertEvent,
    ConfigError,
    Level,
    State,
    load_config,
)
from warroom.collectors.sample import BlockedBackend, Connections, Failure, FailureKind, PgSample
from warroom.config import config_path

T0 = datetime(2026, 3, 1, 3, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> datetime:
        self.n += 1
        return T0 + timedelta(seconds=self.n)


def sample(at: datetime, total: int = 10, usable: int = 100, waiting: int = 0,
           idle_xact_s: float | None = None, probe_error: Failure | None = None,
           blocked: tuple[BlockedBackend, ...] = ()) -> PgSample:
    conns = Connections(total=total, max=usable + 3, reserved=3, by_state={"active": total},
                        waiting=waiting, by_application=())
    return PgSample(at=at, status="up", connections=conns, query_ms=1.0,
                    oldest_idle_xact_s=idle_xact_s, probe_error=probe_error, blocked=blocked)


def down(at: datetime, failure: Failure | None = None) -> PgSample:
    failure = failure or Failure(FailureKind.UNREACHABLE, "connection refused\nis the server up?")
    return PgSample(at=at, status="down", error=failure)


def run(engine: AlertEngine, clock: Clock, totals: list[int]) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for total in totals:
        events += engine.evaluate(sample(clock.next(), total=total), query_p95_ms=None)
    return events


def only(events: list[AlertEvent], rule: str) -> list[AlertEvent]:
    return [e for e in events if e.rule == rule]


# -- saturation and hysteresis ------------------------------------------------------------------

def test_flapping_around_a_threshold_raises_once_and_clears_once() -> None:
    engine, clock = AlertEngine(), Clock()
    events = run(engine, clock, [70, 79, 81, 79, 81, 78, 82, 79, 80, 77, 76, 50, 50, 50, 50])
    sat = only(events, "saturation")
    assert [(e.state, e.level) for e in sat] == [
        (State.RAISED, Level.WARNING),
        (State.CLEARED, Level.WARNING),
    ]
    raised, cleared = sat
    assert raised.message == "raised WARNING saturation 81% >= 80% (81/100 usable)"
    assert (raised.value, raised.threshold) == (81.0, 80.0)
    assert cleared.message == "cleared saturation 50% < 75% (50/100 usable)"
    assert cleared.threshold == 75.0
    # The clear waits for three samples in a row below 80 - 5 %: the third 50 is the one.
    assert cleared.at == T0 + timedelta(seconds=14)
    assert engine.active() == []


def test_a_single_good_sample_does_not_clear() -> None:
    engine, clock = AlertEngine(), Clock()
    events = run(engine, clock, [90, 10, 90, 10, 10, 90])
    assert [e.state for e in only(events, "saturation")] == [State.RAISED]
    assert [a.rule for a in engine.active()] == ["saturation"]


def test_levels_escalate_at_once_and_de_escalate_with_hysteresis() -> None:
    engine, clock = AlertEngine(), Clock()
    events = only(run(engine, clock, [85, 96, 92, 91, 89, 89, 88, 60, 60, 60]), "saturation")
    assert [(e.state, e.level, e.previous) for e in events] == [
        (State.RAISED, Level.WARNING, None),
        (State.RAISED, Level.CRITICAL, Level.WARNING),
        (State.RAISED, Level.WARNING, Level.CRITICAL),
        (State.CLEARED, Level.WARNING, Level.WARNING),
    ]
    assert events[1].message == "raised CRITICAL saturation 96% >= 95% (96/100 usable)"
    assert events[2].message == "lowered to WARNING saturation 88% < 90% (88/100 usable)"


def test_straight_to_critical_and_straight_to_clear() -> None:
    engine, clock = AlertEngine(), Clock()
    events = only(run(engine, clock, [99, 5, 5, 5]), "saturation")
    assert [(e.state, e.level) for e in events] == [
        (State.RAISED, Level.CRITICAL),
        (State.CLEARED, Level.CRITICAL),
    ]


def test_active_lists_current_alerts_critical_first() -> None:
    engine, clock = AlertEngine(), Clock()
    engine.evaluate(sample(clock.next(), total=50, waiting=2), query_p95_ms=None)
    engine.evaluate(sample(clock.next(), total=97, waiting=2), query_p95_ms=None)
    active = engine.active()
    assert [(a.rule, a.level) for a in active] == [
        ("saturation", Level.CRITICAL),
        ("lock_waits", Level.WARNING),
    ]
    assert active[0].since == T0 + timedelta(seconds=2)
    assert active[0].value == 97.0


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0, max_value=120), max_size=60))
def test_events_alternate_and_match_active(totals: list[int]) -> None:
    engine, clock = AlertEngine(), Clock()
    level: Level | None = None
    for total in totals:
        for e in only(engine.evaluate(sample(clock.next(), total=total), query_p95_ms=None),
                      "saturation"):
            assert e.previous == level
            assert e.level != level or e.state is State.CLEARED
            level = e.level if e.state is State.RAISED else None
        active = {a.rule: a.level for a in engine.active()}
        assert active.get("saturation") == level


# -- the other default rules --------------------------------------------------------------------

def test_latency_p95_rule_uses_the_given_window_figure() -> None:
    engine, clock = AlertEngine(), Clock()
    events: list[AlertEvent] = []
    for p95 in [20.0, None, 150.0, 600.0, 450.0, 470.0, 400.0, 50.0, 50.0, 50.0]:
        events += engine.evaluate(sample(clock.next()), query_p95_ms=p95)
    assert [(e.state, e.level) for e in events] == [
        (State.RAISED, Level.WARNING),
        (State.RAISED, Level.CRITICAL),
        (State.RAISED, Level.WARNING),
        (State.CLEARED, Level.WARNING),
    ]
    assert events[1].message == "raised CRITICAL query p95 600 ms >= 500 ms"
    assert AlertConfig().latency_window_s == 30.0


def test_unreachable_raises_with_the_reason_and_clears_when_back() -> None:
    engine, clock = AlertEngine(), Clock()
    events = engine.evaluate(sample(clock.next(), total=90), query_p95_ms=None)
    events += engine.evaluate(down(clock.next()), query_p95_ms=None)
    events += engine.evaluate(down(clock.next()), query_p95_ms=None)
    unreachable = only(events, "unreachable")
    assert len(unreachable) == 1
    assert unreachable[0].level is Level.CRITICAL
    assert unreachable[0].message == (
        "raised CRITICAL database unreachable: unreachable connection refused is the server up?"
    )
    # The saturation alert neither clears nor flaps while there is no data.
    assert [a.rule for a in engine.active()] == ["unreachable", "saturation"]
    back = []
    for _ in range(3):
        back += engine.evaluate(sample(clock.next(), total=90), query_p95_ms=None)
    assert [(e.rule, e.state) for e in back] == [("unreachable", State.CLEARED)]
    assert back[0].message == "cleared database unreachable"


def test_refused_connections_from_the_probe_and_from_the_monitor() -> None:
    engine, clock = AlertEngine(), Clock()
    full = Failure(FailureKind.TOO_MANY_CONNECTIONS, "sorry, too many clients already", "53300")
    events = engine.evaluate(sample(clock.next(), total=97, probe_error=full), query_p95_ms=None)
    refused = only(events, "refused")
    assert len(refused) == 1
    assert refused[0].message == (
        "raised CRITICAL new connections refused: too_many_connections 53300 "
        "sorry, too many clients already"
    )
    # A monitor that cannot get in either: still refused, no second event; also unreachable.
    events = engine.evaluate(down(clock.next(), full), query_p95_ms=None)
    assert [e.rule for e in events] == ["unreachable"]
    # A probe timeout is not a refusal; the rule clears after 30 quiet samples (the probe's
    # result stands for several samples, so 3 would let an intermittent storm flap).
    timeout = Failure(FailureKind.TIMEOUT, "timeout expired")
    for _ in range(29):
        events = engine.evaluate(sample(clock.next(), probe_error=timeout), query_p95_ms=None)
    assert "refused" in {a.rule for a in engine.active()}
    events = engine.evaluate(sample(clock.next(), probe_error=timeout), query_p95_ms=None)
    assert "refused" not in {a.rule for a in engine.active()}


def test_a_probe_refused_every_other_time_raises_once_not_every_ten_seconds() -> None:
    engine, clock = AlertEngine(), Clock()
    full = Failure(FailureKind.TOO_MANY_CONNECTIONS, "sorry, too many clients already", "53300")
    events = []
    for n in range(120):
        # The probe runs every 5 samples; every other probe is refused.
        refused = (n // 5) % 2 == 0
        events += engine.evaluate(
            sample(clock.next(), probe_error=full if refused else None), query_p95_ms=None
        )
    assert [e.state.value for e in only(events, "refused")] == ["raised"]


def test_lock_waits_and_idle_in_transaction() -> None:
    engine, clock = AlertEngine(), Clock()
    blocked = (BlockedBackend(pid=4242, blocked_by=(17,), application="app", wait_s=3.0,
                              query="update t"),)
    events = engine.evaluate(sample(clock.next(), waiting=1, idle_xact_s=75.5, blocked=blocked),
                             query_p95_ms=None)
    by_rule = {e.rule: e for e in events}
    assert by_rule["lock_waits"].message == (
        "raised WARNING sessions waiting on locks 1 >= 1 (blocked pids 4242)"
    )
    idle = by_rule["idle_in_transaction"]
    assert idle.message == "raised WARNING idle in transaction 75 s >= 60 s"
    events = []
    for _ in range(3):
        events += engine.evaluate(sample(clock.next()), query_p95_ms=None)
    assert sorted(e.rule for e in events) == ["idle_in_transaction", "lock_waits"]
    assert all(e.state is State.CLEARED for e in events)


def test_idle_in_transaction_just_under_a_minute_is_quiet() -> None:
    engine, clock = AlertEngine(), Clock()
    assert engine.evaluate(sample(clock.next(), idle_xact_s=59.9), query_p95_ms=None) == []


# -- configuration ------------------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_when_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARROOM_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "warroom" / "config.toml"
    assert load_config() == AlertConfig()
    assert AlertConfig().rule("saturation").warning == 80.0


def test_config_overrides_change_what_fires(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, """
[ui]
theme = "dark"   # another part's table: not ours to judge

[alerts]
clear_after = 1

[alerts.saturation]
warning = 50
critical = false
margin = 0

[alerts.lock_waits]
enabled = false

[alerts.unreachable]
level = "warning"
""")
    monkeypatch.setenv("WARROOM_CONFIG", str(path))
    config = load_config()
    engine, clock = AlertEngine(config), Clock()
    events = run(engine, clock, [60, 99])
    assert [(e.state, e.level) for e in events] == [(State.RAISED, Level.WARNING)]
    events = engine.evaluate(sample(clock.next(), total=49, waiting=5), query_p95_ms=None)
    assert [(e.rule, e.state) for e in events] == [("saturation", State.CLEARED)]
    events = engine.evaluate(down(clock.next()), query_p95_ms=None)
    assert [(e.rule, e.level) for e in events] == [("unreachable", Level.WARNING)]
    # Rules the file does not mention keep their defaults, with the file's clear_after.
    assert config.rule("query_p95").warning == 100.0
    assert config.rule("query_p95").clear_after == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[alerts.saturaton]\nwarning = 1\n", "alerts.saturaton: unknown rule"),
        ("[alerts.saturation]\nwarn = 1\n", "alerts.saturation.warn: unknown key"),
        ('[alerts.saturation]\nwarning = "high"\n', "alerts.saturation.warning: expected a number"),
        ("[alerts.saturation]\nwarning = true\n", "alerts.saturation.warning: expected a number"),
        ("[alerts.saturation]\nmargin = -1\n", "alerts.saturation.margin: must not be negative"),
        ("[alerts.saturation]\nwarning = 99\n", "alerts.saturation.warning: must be below"),
        ("[alerts]\nclear_after = 0\n", "alerts.clear_after: expected a whole number"),
        ('[alerts.lock_waits]\nclear_after = "2"\n', "alerts.lock_waits.clear_after: expected"),
        ('[alerts.refused]\nlevel = "page"\n', 'alerts.refused.level: expected "warning"'),
        ("[alerts.refused]\nwarning = 1\n", "alerts.refused.warning: unknown key"),
        ("[alerts.query_p95]\nwindow = 0\n", "alerts.query_p95.window: must be more than 0"),
        ("[alerts.saturation]\nenabled = 1\n", "alerts.saturation.enabled: expected true or false"),
        ("alerts = 3\n", "alerts: expected a table"),
        ("[alerts\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_a_named_config_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config()
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "other.toml")


def test_pooler_wait_thresholds_come_from_the_config(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARROOM_CONFIG", str(write(tmp_path, """
[alerts.pooler_wait]
warning = 5
critical = false
""")))
    rule = load_config().rule("pooler_wait")
    assert (rule.warning, rule.critical, rule.margin) == (5.0, None, 0.5)
    assert AlertConfig().rule("pooler_wait").critical == 10.0
