"""Thresholds of the finding rules: the ``[findings.*]`` tables beside ``[alerts.*]``.

Every rule has ``enabled``, ``raise_after`` (samples in a row that must support it before it is
raised) and ``clear_after`` (samples in a row without it before it clears), plus its own
thresholds below. Unknown keys are refused, so a typo never silently keeps a default::

    [findings.pool]
    share = 60          # percent of the usable slots one application holds
    saturation = 80     # and the server is at least this full (percent)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

COMMON = {"enabled": 1.0, "raise_after": 2.0, "clear_after": 3.0}

DEFAULTS: dict[str, dict[str, float]] = {
    "pool": {"share": 60.0, "saturation": 80.0},
    "lock_root": {"min_blocked": 3.0, "min_wait_s": 5.0},
    "statement": {"share": 80.0, "min_mean_ms": 50.0, "min_total_s": 5.0},
    # Sessions that came and went per second (new ones that stay are no churn), over `samples`,
    # and `factor` times the median from before the storm.
    "churn": {"min_per_s": 10.0, "factor": 3.0, "samples": 3.0},
    "network_fine": {"max_ms": 10.0},
    "waiting": {"cpu_idle": 30.0, "latency_ms": 100.0, "min_query_s": 5.0, "min_waiting": 3.0},
    # A PgBouncer queue: clients waiting this long while every server connection is busy.
    "pooler": {"min_waiting": 1.0, "min_wait_s": 1.0, "critical_wait_s": 10.0},
    # Connections the server refused (its log: 53300), per second over the log's last window.
    "retry_storm": {"min_per_s": 1.0, "critical_per_s": 20.0},
}


@dataclass(frozen=True, slots=True)
class FindingsConfig:
    rules: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {k: {**COMMON, **v} for k, v in DEFAULTS.items()}
    )

    def rule(self, name: str) -> Mapping[str, float]:
        return self.rules[name]


def parse_findings(
    table: Any, fail: Callable[[str, str], Exception]
) -> FindingsConfig:
    """Validate the ``findings`` table; ``fail(key, problem)`` builds the error to raise."""
    rules = {k: {**COMMON, **v} for k, v in DEFAULTS.items()}
    if not isinstance(table, dict):
        raise fail("findings", "expected a table ([findings])")
    for name, values in table.items():
        if name not in DEFAULTS:
            raise fail(f"findings.{name}", f"unknown rule (known: {', '.join(DEFAULTS)})")
        if not isinstance(values, dict):
            raise fail(f"findings.{name}", f"expected a table ([findings.{name}])")
        for key, value in values.items():
            where = f"findings.{name}.{key}"
            if key not in rules[name]:
                known = ", ".join(rules[name])
                raise fail(where, f"unknown setting (known: {known})")
            if key == "enabled":
                if not isinstance(value, bool):
                    raise fail(where, "expected true or false")
                rules[name][key] = 1.0 if value else 0.0
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise fail(where, "expected a number >= 0")
            if key in ("raise_after", "clear_after") and (int(value) != value or value < 1):
                raise fail(where, "expected a whole number >= 1")
            rules[name][key] = float(value)
    return FindingsConfig(rules=rules)
