"""Threshold rules with hysteresis: PgSamples in, raised/cleared alert events out.

Hysteresis, both ways, so a value flapping around a threshold gives one raise and one clear:
- raise (or escalate warning -> critical) at once, on the first sample at or above a threshold;
- lower a level (clear, or critical -> warning) only after ``clear_after`` consecutive samples
  below that level's threshold minus ``margin``. A sample at or above the lowered threshold
  resets the count. A rule with no value in a sample (the database is down, so there is no
  saturation to speak of) keeps its state and resets the count: no evidence, no change.

Configuration is the ``[alerts]`` table of a TOML file (see ``warroom.config``); ``[findings]``
is validated here too (findings/config.py); other top-level tables belong to other parts of
warroom and are left alone here::

    [alerts]
    clear_after = 3            # default for every rule

    [alerts.saturation]        # percent of the slots applications may use
    warning = 80
    critical = 95              # a number, or false to turn the level off
    margin = 5

    [alerts.query_p95]         # p95 of the monitoring query's round trip, ms
    warning = 100
    critical = 500
    margin = 20
    window = 30                # seconds of samples the p95 is taken over (the caller's window)

    [alerts.replication_lag]   # seconds a replica's replay is behind
    warning = 30
    critical = 300

    [alerts.inactive_slot]     # MiB of WAL retained by inactive replication slots
    warning = 1024

    [alerts.pooler_wait]       # seconds a PgBouncer client has waited for a server connection
    warning = 1
    critical = 10

    [alerts.unreachable]       # yes/no rules have a level instead of thresholds
    level = "critical"
    enabled = true
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from warroom.collectors.bouncer_sample import BouncerSample
from warroom.collectors.findings.config import FindingsConfig, parse_findings
from warroom.collectors.sample import Failure, FailureKind, PgSample, Replication
from warroom.config import ConfigError, read_config
from warroom.formats import format_bytes
from warroom.sanitize import one_line


class Level(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class State(StrEnum):
    RAISED = "raised"  # the alert is active after this event (first raise or a level change)
    CLEARED = "cleared"


_RANK: dict[Level | None, int] = {None: 0, Level.WARNING: 1, Level.CRITICAL: 2}
_LEVELS_DOWN = (Level.CRITICAL, Level.WARNING)
_REFUSALS = frozenset({FailureKind.TOO_MANY_CONNECTIONS, FailureKind.SHUTTING_DOWN})

DEFAULT_CLEAR_AFTER = 3
MIB = 1024 * 1024


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One rule's settings. Yes/no rules use ``warning``/``critical`` = 1 for their level."""

    enabled: bool = True
    warning: float | None = None
    critical: float | None = None
    margin: float = 0.0
    clear_after: int = DEFAULT_CLEAR_AFTER
    window: float | None = None  # only query_p95: seconds of samples its p95 covers

    def threshold(self, level: Level) -> float | None:
        return self.warning if level is Level.WARNING else self.critical


@dataclass(frozen=True, slots=True)
class _RuleSpec:
    title: str
    boolean: bool
    default: RuleConfig


_SPECS: dict[str, _RuleSpec] = {
    "saturation": _RuleSpec(
        "saturation", False, RuleConfig(warning=80.0, critical=95.0, margin=5.0)
    ),
    "query_p95": _RuleSpec(
        "query p95", False, RuleConfig(warning=100.0, critical=500.0, margin=20.0, window=30.0)
    ),
    "unreachable": _RuleSpec("database unreachable", True, RuleConfig(critical=1.0)),
    # The probe runs every few seconds and each result stands for several samples, so a storm
    # that refuses every other probe would raise and clear all the time: clear after 30 quiet
    # samples instead of 3.
    "refused": _RuleSpec(
        "new connections refused", True, RuleConfig(critical=1.0, clear_after=30)
    ),
    "lock_waits": _RuleSpec("sessions waiting on locks", False, RuleConfig(warning=1.0)),
    "idle_in_transaction": _RuleSpec(
        "idle in transaction", False, RuleConfig(warning=60.0, margin=5.0)
    ),
    # Seconds a replica's replay is behind (on a primary: its worst standby's).
    "replication_lag": _RuleSpec(
        "replication lag", False, RuleConfig(warning=30.0, critical=300.0, margin=5.0)
    ),
    # MiB of WAL kept by replication slots nobody reads: the primary's disk fills behind them.
    "inactive_slot": _RuleSpec(
        "inactive replication slot retaining WAL", False, RuleConfig(warning=1024.0, margin=16.0)
    ),
    # Seconds the longest-waiting PgBouncer client has waited for a server connection (maxwait):
    # a pool too small for its clients, while the database itself may be far from full.
    "pooler_wait": _RuleSpec(
        "PgBouncer clients waiting", False, RuleConfig(warning=1.0, critical=10.0, margin=0.5)
    ),
}

RULES: tuple[str, ...] = tuple(_SPECS)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    rules: Mapping[str, RuleConfig] = field(
        default_factory=lambda: {name: spec.default for name, spec in _SPECS.items()}
    )
    # The finding rules' thresholds live in the same file ([findings.*], see findings/config.py)
    findings: FindingsConfig = field(default_factory=FindingsConfig)

    def rule(self, name: str) -> RuleConfig:
        return self.rules[name]

    @property
    def latency_window_s(self) -> float:
        """How many seconds of query round trips the caller should take the p95 over."""
        window = self.rules["query_p95"].window
        return 30.0 if window is None else window


def load_config(path: Path | str | None = None) -> AlertConfig:
    """The ``[alerts]`` and ``[findings]`` tables of the config file (``warroom.config``);
    defaults for what it leaves out, and when there is no file."""
    found = read_config(path)
    return parse_config(found.data, source=str(found.where))


def parse_config(data: Mapping[str, Any], source: str = "config") -> AlertConfig:
    """Validate an already parsed TOML document (its ``alerts`` table) into an AlertConfig."""
    alerts = data.get("alerts", {})

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {problem}")

    if not isinstance(alerts, dict):
        raise fail("alerts", "expected a table ([alerts])")
    rules: dict[str, RuleConfig] = {name: spec.default for name, spec in _SPECS.items()}
    if "clear_after" in alerts:
        clear_after = _count(alerts["clear_after"], "alerts.clear_after", fail)
        rules = {name: replace(rule, clear_after=clear_after) for name, rule in rules.items()}
    for key, value in alerts.items():
        if key == "clear_after":
            continue
        if key not in _SPECS:
            raise fail(f"alerts.{key}", f"unknown rule (known: {', '.join(_SPECS)}, clear_after)")
        if not isinstance(value, dict):
            raise fail(f"alerts.{key}", "expected a table ([alerts." + key + "])")
        rules[key] = _parse_rule(key, value, rules[key], fail)
    return AlertConfig(rules=rules, findings=parse_findings(data.get("findings", {}), fail))


def _parse_rule(
    name: str,
    table: dict[str, Any],
    base: RuleConfig,
    fail: Callable[[str, str], ConfigError],
) -> RuleConfig:
    spec = _SPECS[name]
    allowed = ["enabled", "clear_after"]
    allowed += ["level"] if spec.boolean else ["warning", "critical", "margin"]
    if name == "query_p95":
        allowed.append("window")
    rule = base
    for key, value in table.items():
        dotted = f"alerts.{name}.{key}"
        if key not in allowed:
            raise fail(dotted, f"unknown key (known: {', '.join(allowed)})")
        if key == "enabled":
            if not isinstance(value, bool):
                raise fail(dotted, f"expected true or false, got {value!r}")
            rule = replace(rule, enabled=value)
        elif key == "clear_after":
            rule = replace(rule, clear_after=_count(value, dotted, fail))
        elif key == "level":
            if value not in (Level.WARNING.value, Level.CRITICAL.value):
                raise fail(dotted, f'expected "warning" or "critical", got {value!r}')
            is_warning = value == Level.WARNING.value
            rule = replace(
                rule, warning=1.0 if is_warning else None, critical=None if is_warning else 1.0
            )
        elif key in ("warning", "critical"):
            if value is False:
                rule = replace(rule, **{key: None})
            else:
                rule = replace(rule, **{key: _number(value, dotted, fail, "a number or false")})
        else:  # margin, window
            number = _number(value, dotted, fail, "a number")
            if key == "window" and number == 0:
                raise fail(dotted, "must be more than 0 seconds")
            rule = replace(rule, **{key: number})
    if rule.warning is not None and rule.critical is not None and rule.warning >= rule.critical:
        raise fail(
            f"alerts.{name}.warning",
            f"must be below critical ({_num(rule.warning)} >= {_num(rule.critical)})",
        )
    return rule


def _number(
    value: Any, key: str, fail: Callable[[str, str], ConfigError], expected: str
) -> float:
    # bool is an int in Python; `warning = true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(key, f"expected {expected}, got {value!r}")
    if value < 0 or value != value:
        raise fail(key, f"must not be negative, got {value!r}")
    return float(value)


def _count(value: Any, key: str, fail: Callable[[str, str], ConfigError]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(key, f"expected a whole number of samples >= 1, got {value!r}")
    return value


# -- evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One transition. ``level`` is the level now active (for ``cleared``: the one that ended)."""

    at: datetime
    rule: str
    level: Level
    state: State
    value: float
    threshold: float  # the boundary crossed: a raise threshold, or a lowered clear threshold
    message: str  # one line, ready to become a timeline entry
    previous: Level | None = None  # the level before this event (None on a first raise)


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    rule: str
    level: Level
    since: datetime  # first raised (a level change does not reset it)
    value: float  # the latest value seen
    threshold: float
    message: str  # the message of the raise or level change that set ``level``


@dataclass(slots=True)
class _RuleState:
    level: Level | None = None
    since: datetime | None = None
    value: float = 0.0
    threshold: float = 0.0
    message: str = ""
    streak: int = 0  # consecutive samples asking for a lower level
    pending: Level | None = None  # the highest of the lower levels asked for during the streak


class AlertEngine:
    """Feeds samples through every enabled rule; keeps each rule's level between samples."""

    def __init__(self, config: AlertConfig | None = None) -> None:
        self.config = config or AlertConfig()
        self._states: dict[str, _RuleState] = {name: _RuleState() for name in _SPECS}

    def evaluate(
        self,
        sample: PgSample,
        *,
        query_p95_ms: float | None = None,
        bouncer: BouncerSample | None = None,
    ) -> list[AlertEvent]:
        """Transitions caused by this sample, at most one per rule.

        ``bouncer``: the latest sample of this server's PgBouncer, when one is watched (the
        PgBouncer rules keep their state without one).
        """
        events: list[AlertEvent] = []
        for name in _SPECS:
            rule = self.config.rule(name)
            if not rule.enabled:
                continue
            if name in _BOUNCER_RULES:
                value = _bouncer_value(bouncer)
                event = self._step(name, rule, sample, value, _bouncer_detail(bouncer))
            else:
                value = _value(name, sample, query_p95_ms)
                event = self._step(name, rule, sample, value)
            if event is not None:
                events.append(event)
        return events

    def active(self) -> list[ActiveAlert]:
        """Current alerts, critical first, then oldest first."""
        found = [
            ActiveAlert(name, s.level, s.since, s.value, s.threshold, s.message)
            for name, s in self._states.items()
            if s.level is not None and s.since is not None
        ]
        found.sort(key=lambda a: (-_RANK[a.level], a.since))
        return found

    def _step(
        self,
        name: str,
        rule: RuleConfig,
        sample: PgSample,
        value: float | None,
        detail: str | None = None,
    ) -> AlertEvent | None:
        state = self._states[name]
        if value is None:
            state.streak, state.pending = 0, None
            return None
        state.value = value
        current = state.level
        raw = _level_at(rule, value, margin=0.0)
        if _RANK[raw] > _RANK[current]:
            assert raw is not None
            state.streak, state.pending = 0, None
            return self._move(name, rule, state, sample, raw, value, detail)
        # Hysteresis: the levels we are at or above only drop once below threshold - margin.
        held = _level_at(rule, value, margin=rule.margin, ceiling=current)
        if _RANK[held] >= _RANK[current]:
            state.streak, state.pending = 0, None
            return None
        state.streak += 1
        if state.pending is None or _RANK[held] > _RANK[state.pending]:
            state.pending = held
        if state.streak < rule.clear_after:
            return None
        target = state.pending
        state.streak, state.pending = 0, None
        return self._move(name, rule, state, sample, target, value, detail)

    def _move(
        self,
        name: str,
        rule: RuleConfig,
        state: _RuleState,
        sample: PgSample,
        target: Level | None,
        value: float,
        detail: str | None = None,
    ) -> AlertEvent:
        previous = state.level
        spec = _SPECS[name]
        if detail is None:
            detail = _detail(name, sample)
        if target is None:
            assert previous is not None
            limit = _threshold(rule, previous) - rule.margin
            text = f"cleared {spec.title}"
            if not spec.boolean:
                text += f" {_fmt(name, value)} < {_fmt(name, limit)}"
            message = _join(text, detail if not spec.boolean else "")
            state.level, state.since = None, None
            return AlertEvent(
                sample.at, name, previous, State.CLEARED, value, limit, message, previous
            )
        if _RANK[target] > _RANK[previous]:
            limit = _threshold(rule, target)
            verb = f"raised {target.value.upper()}"
            compare = f"{_fmt(name, value)} >= {_fmt(name, limit)}"
        else:
            assert previous is not None
            limit = _threshold(rule, previous) - rule.margin
            verb = f"lowered to {target.value.upper()}"
            compare = f"{_fmt(name, value)} < {_fmt(name, limit)}"
        text = f"{verb} {spec.title}" + ("" if spec.boolean else f" {compare}")
        message = _join(text, detail)
        state.level, state.threshold, state.message = target, limit, message
        if state.since is None:
            state.since = sample.at
        return AlertEvent(sample.at, name, target, State.RAISED, value, limit, message, previous)


def _threshold(rule: RuleConfig, level: Level) -> float:
    limit = rule.threshold(level)
    assert limit is not None
    return limit


def _level_at(
    rule: RuleConfig, value: float, *, margin: float, ceiling: Level | None = Level.CRITICAL
) -> Level | None:
    """The highest level up to ``ceiling`` whose threshold (minus ``margin``) ``value`` reaches."""
    for level in _LEVELS_DOWN:
        if _RANK[level] > _RANK[ceiling]:
            continue
        limit = rule.threshold(level)
        if limit is not None and value >= limit - margin:
            return level
    return None


def _value(name: str, sample: PgSample, query_p95_ms: float | None) -> float | None:
    """The rule's measure in this sample; None when the sample says nothing about it."""
    if name == "unreachable":
        return 0.0 if sample.up else 1.0
    if name == "refused":
        if sample.up:
            refused = sample.probe_error is not None and sample.probe_error.kind in _REFUSALS
            return 1.0 if refused else 0.0
        # Down for another reason: whether new clients would be refused is unknown.
        if sample.error is not None and sample.error.kind in _REFUSALS:
            return 1.0
        return None
    if not sample.up:
        return None
    if name == "query_p95":
        return query_p95_ms
    conns = sample.connections
    if name == "saturation":
        return None if conns is None else conns.saturation * 100.0
    if name == "lock_waits":
        return None if conns is None else float(conns.waiting)
    if name == "idle_in_transaction":
        # None while up means nobody is idle in a transaction.
        return sample.oldest_idle_xact_s or 0.0
    repl = sample.replication
    if name == "replication_lag":
        return None if repl is None else repl.max_lag_s
    if name == "inactive_slot":
        if repl is None or repl.role != "primary":
            return None
        kept = sum(s.retained_bytes or 0 for s in repl.slots if not s.active)
        return kept / MIB
    raise KeyError(name)


_BOUNCER_RULES = frozenset({"pooler_wait"})


def _bouncer_value(bouncer: BouncerSample | None) -> float | None:
    """The longest wait of any pool; None (no evidence, no change) without an answer."""
    if bouncer is None or not bouncer.up:
        return None
    return bouncer.totals.maxwait_s


def _bouncer_detail(bouncer: BouncerSample | None) -> str:
    if bouncer is None or not bouncer.up or not bouncer.pools:
        return ""
    worst = bouncer.pools[0]  # the collector sorts pools worst first
    return (f"({_one_line(worst.name, 80)}: {worst.cl_waiting} waiting, "
            f"{worst.sv_active} server connections busy)")  # fmt: skip


def _detail(name: str, sample: PgSample) -> str:
    conns = sample.connections
    if name == "saturation" and conns is not None:
        return f"({conns.total}/{conns.usable} usable)"
    if name == "unreachable" and sample.error is not None:
        return ": " + _failure(sample.error)
    if name == "refused":
        failure = sample.probe_error if sample.up else sample.error
        return ": " + _failure(failure) if failure is not None else ""
    repl = sample.replication
    if name == "replication_lag" and repl is not None:
        return _lag_detail(repl)
    if name == "inactive_slot" and repl is not None:
        idle = [s for s in repl.slots if not s.active]
        shown = ", ".join(f"{_one_line(s.name, 40)} {format_bytes(s.retained_bytes, '? MB')}"
                          for s in idle[:3])
        return f"({shown})" if shown else ""
    if name == "lock_waits" and sample.blocked:
        pids = ", ".join(str(b.pid) for b in sample.blocked[:5])
        more = f" +{len(sample.blocked) - 5}" if len(sample.blocked) > 5 else ""
        return f"(blocked pids {pids}{more})"
    return ""


def _lag_detail(repl: Replication) -> str:
    if repl.role == "replica":
        paused = ", replay paused" if repl.replay_paused else ""
        return f"({format_bytes(repl.lag_bytes, '? MB')} received, not replayed{paused})"
    worst = max(repl.replicas, key=lambda r: r.replay_lag_s or 0.0, default=None)
    if worst is None:
        return ""
    return f"({_one_line(worst.name, 40)}: {format_bytes(worst.replay_lag_bytes, '? MB')} behind)"


def _failure(failure: Failure) -> str:
    code = f" {failure.sqlstate}" if failure.sqlstate else ""
    return f"{failure.kind.value}{code} {_one_line(failure.message)}".strip()


def _join(text: str, detail: str) -> str:
    if not detail:
        return text
    return text + detail if detail.startswith(":") else f"{text} {detail}"


def _one_line(text: str, limit: int = 200) -> str:
    # Server messages are data: no control characters or newlines may reach a timeline line.
    return one_line(text, limit)


def _num(value: float) -> str:
    return f"{value:g}"


def _fmt(name: str, value: float) -> str:
    # Truncate rather than round, so "74.6 < 75" never prints as "75% < 75%".
    if name == "saturation":
        return f"{math.floor(value)}%"
    if name == "query_p95":
        return f"{math.floor(value)} ms" if value >= 10 else f"{math.floor(value * 10) / 10} ms"
    if name in ("idle_in_transaction", "replication_lag"):
        return f"{math.floor(value)} s"
    if name == "pooler_wait":
        return f"{math.floor(value * 10) / 10} s"
    if name == "inactive_slot":
        return f"{math.floor(value)} MB"
    return _num(value)
