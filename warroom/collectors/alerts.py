"""Threshold rules with hysteresis: PgSamples in, raised/cleared alert events out.

Hysteresis, both ways, so a value flapping around a threshold gives one raise and one clear:
- raise (or escalate warning -> critical) at once, on the first sample at or above a threshold;
- lower a level (clear, or critical -> warning) only after ``clear_after`` consecutive samples
  below that level's threshold minus ``margin``. A sample at or above the lowered threshold
  resets the count. A rule with no value in a sample (the database is down, so there is no
  saturation to speak of) keeps its state and resets the count: no evidence, no change.

The rules and their ``[alerts]`` settings (thresholds, margins, ``clear_after``) are in
alerts_config.py; the names callers import from here (AlertConfig, load_config, ...) still are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from warroom.collectors.alerts_config import DEFAULT_CLEAR_AFTER as DEFAULT_CLEAR_AFTER
from warroom.collectors.alerts_config import RULES as RULES
from warroom.collectors.alerts_config import SPECS as _SPECS
from warroom.collectors.alerts_config import AlertConfig as AlertConfig
from warroom.collectors.alerts_config import Level as Level
from warroom.collectors.alerts_config import RuleConfig as RuleConfig
from warroom.collectors.alerts_config import load_config as load_config
from warroom.collectors.alerts_config import parse_config as parse_config
from warroom.collectors.alerts_config import short_number as _num
from warroom.collectors.bouncer_sample import BouncerSample
from warroom.collectors.sample import Failure, FailureKind, PgSample, Replication
from warroom.config import ConfigError as ConfigError
from warroom.formats import format_bytes
from warroom.sanitize import one_line


class State(StrEnum):
    RAISED = "raised"  # the alert is active after this event (first raise or a level change)
    CLEARED = "cleared"


_RANK: dict[Level | None, int] = {None: 0, Level.WARNING: 1, Level.CRITICAL: 2}
_LEVELS_DOWN = (Level.CRITICAL, Level.WARNING)
_REFUSALS = frozenset({FailureKind.TOO_MANY_CONNECTIONS, FailureKind.SHUTTING_DOWN})

MIB = 1024 * 1024


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

    def resume(self, entries: Iterable[tuple[datetime, str]]) -> None:
        """Start from the levels a record's alert entries (oldest first, as ``(at, text)``)
        leave active: a dashboard that resumes a session, or opens the one the recorder opened
        during the alert, then neither logs nor notifies again what the record says is raised;
        it logs the clear when the alert ends. Entries that are no alert's are passed over."""
        titles = sorted(((spec.title, name) for name, spec in _SPECS.items()),
                        key=lambda t: -len(t[0]))  # fmt: skip
        for at, text in entries:
            found = _parse_entry(text, titles)
            if found is None:
                continue
            name, level = found
            if not self.config.rule(name).enabled:
                continue  # never evaluated here: it could never clear
            state = self._states[name]
            if level is None:
                state.level, state.since = None, None
                continue
            if state.level is None:
                state.since = at
            state.level, state.message = level, text
            limit = self.config.rule(name).threshold(level)
            state.threshold = 0.0 if limit is None else limit
            state.streak, state.pending = 0, None

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


def _parse_entry(text: str, titles: list[tuple[str, str]]) -> tuple[str, Level | None] | None:
    """(rule, level now: None once cleared) from an alert entry's text as ``_move`` wrote it."""
    for verb in ("raised ", "lowered to "):
        if text.startswith(verb):
            rest = text[len(verb):]
            level_word, _, rest = rest.partition(" ")
            try:
                level = Level(level_word.lower())
            except ValueError:
                return None
            break
    else:
        if not text.startswith("cleared "):
            return None
        level, rest = None, text[len("cleared "):]
    for title, name in titles:  # the longest first: no title is read as a shorter one's
        if rest == title or rest.startswith(title + " ") or rest.startswith(title + ":"):
            return name, level
    return None


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
