"""The alert rules and their settings: the ``[alerts]`` table, validated, with defaults.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from warroom.collectors.findings.config import FindingsConfig, parse_findings
from warroom.config import ConfigError, read_config


class Level(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


DEFAULT_CLEAR_AFTER = 3


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
class RuleSpec:
    title: str
    boolean: bool
    default: RuleConfig


SPECS: dict[str, RuleSpec] = {
    "saturation": RuleSpec(
        "saturation", False, RuleConfig(warning=80.0, critical=95.0, margin=5.0)
    ),
    "query_p95": RuleSpec(
        "query p95", False, RuleConfig(warning=100.0, critical=500.0, margin=20.0, window=30.0)
    ),
    "unreachable": RuleSpec("database unreachable", True, RuleConfig(critical=1.0)),
    # The probe runs every few seconds and each result stands for several samples, so a storm
    # that refuses every other probe would raise and clear all the time: clear after 30 quiet
    # samples instead of 3.
    "refused": RuleSpec(
        "new connections refused", True, RuleConfig(critical=1.0, clear_after=30)
    ),
    "lock_waits": RuleSpec("sessions waiting on locks", False, RuleConfig(warning=1.0)),
    "idle_in_transaction": RuleSpec(
        "idle in transaction", False, RuleConfig(warning=60.0, margin=5.0)
    ),
    # Seconds a replica's replay is behind (on a primary: its worst standby's).
    "replication_lag": RuleSpec(
        "replication lag", False, RuleConfig(warning=30.0, critical=300.0, margin=5.0)
    ),
    # MiB of WAL kept by replication slots nobody reads: the primary's disk fills behind them.
    "inactive_slot": RuleSpec(
        "inactive replication slot retaining WAL", False, RuleConfig(warning=1024.0, margin=16.0)
    ),
    # Seconds the longest-waiting PgBouncer client has waited for a server connection (maxwait):
    # a pool too small for its clients, while the database itself may be far from full.
    "pooler_wait": RuleSpec(
        "PgBouncer clients waiting", False, RuleConfig(warning=1.0, critical=10.0, margin=0.5)
    ),
}

RULES: tuple[str, ...] = tuple(SPECS)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    rules: Mapping[str, RuleConfig] = field(
        default_factory=lambda: {name: spec.default for name, spec in SPECS.items()}
    )
    # The finding rules' thresholds live in the same file ([findings.*], see findings/config.py)
    findings: FindingsConfig = field(default_factory=FindingsConfig)

    def rule(self, name: str) -> RuleConfig:
        return self.rules[name]

    def saturation_levels(self) -> list[tuple[str, float]]:
        """(level, percent of usable slots) the saturation alert raises at, lowest first: what
        the draft's Impact counts time above."""
        rule = self.rules["saturation"]
        found = [(level.value, rule.threshold(level)) for level in (Level.WARNING, Level.CRITICAL)]
        return [(level, value) for level, value in found if value is not None]

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
    rules: dict[str, RuleConfig] = {name: spec.default for name, spec in SPECS.items()}
    if "clear_after" in alerts:
        clear_after = _count(alerts["clear_after"], "alerts.clear_after", fail)
        rules = {name: replace(rule, clear_after=clear_after) for name, rule in rules.items()}
    for key, value in alerts.items():
        if key == "clear_after":
            continue
        if key not in SPECS:
            raise fail(f"alerts.{key}", f"unknown rule (known: {', '.join(SPECS)}, clear_after)")
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
    spec = SPECS[name]
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
            f"must be below critical ({short_number(rule.warning)}"
            f" >= {short_number(rule.critical)})",
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


def short_number(value: float) -> str:
    """A threshold as users write it: 80, not 80.0 (messages here and in alerts.py)."""
    return f"{value:g}"
