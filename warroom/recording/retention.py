"""How much history the recorder keeps: by age and by size, and the text forms of both."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_AGE_S = 48 * 3600.0
DEFAULT_BYTES = 1024**3

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNITS_B = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
            "kib": 1024, "mib": 1024**2, "gib": 1024**3}  # fmt: skip
_AMOUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


@dataclass(frozen=True, slots=True)
class Retention:
    max_age_s: float = DEFAULT_AGE_S
    max_bytes: int = DEFAULT_BYTES


def parse_age(text: str) -> float:
    """``48h``, ``90m``, ``2d``, ``3600`` (seconds): a duration above 0; ValueError otherwise."""
    found = _AMOUNT.fullmatch(text)
    unit = found.group(2).lower() if found else ""
    if not found or unit not in {"", *_UNITS_S}:
        raise ValueError(f"not a duration (like 48h, 90m, 2d): {text!r}")
    value = float(found.group(1)) * _UNITS_S.get(unit, 1)
    if value <= 0:
        raise ValueError(f"must be above 0: {text!r}")
    return value


def parse_size(text: str) -> int:
    """``1GiB``, ``500MB``, ``1048576`` (bytes): a size of at least 1 MiB; ValueError otherwise."""
    found = _AMOUNT.fullmatch(text)
    unit = found.group(2).lower() if found else ""
    if not found or unit not in _UNITS_B:
        raise ValueError(f"not a size (like 1GiB, 500MB): {text!r}")
    value = int(float(found.group(1)) * _UNITS_B[unit])
    if value < 1024**2:
        raise ValueError(f"must be at least 1 MiB: {text!r}")
    return value
