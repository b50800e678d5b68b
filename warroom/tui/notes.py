"""What a line typed in the note box means: an optional backdating time, a kind prefix, the text.

``09:12 ! raised pool size`` is an action at 09:12 UTC today; ``? network latency`` is a
misleading path at the moment typing started. Kept free of Textual so it is easy to test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.sessions.model import Kind
from warroom.sessions.times import parse_clock

PREFIXES: dict[str, Kind] = {
    "!": Kind.ACTION,
    "?": Kind.MISLEADING,
    ">": Kind.DECISION,
    "^": Kind.ESCALATION,
    "*": Kind.DETECTION,
    "=": Kind.RESOLUTION,
    "#": Kind.METRIC,
}

PREFIX_HELP = "  ".join(f"{p} {k.value}" for p, k in PREFIXES.items())

_LEADING_CLOCK = re.compile(r"^\s*(\d{1,2}:\d{2}(?::\d{2})?)(?:\s+|$)")


@dataclass(frozen=True, slots=True)
class ParsedNote:
    at: datetime
    kind: Kind
    text: str


def parse_note(line: str, started_typing: datetime) -> ParsedNote:
    """Split ``line``; raises ``TimeError`` for an impossible clock like ``25:00``."""
    at = started_typing
    rest = line
    match = _LEADING_CLOCK.match(rest)
    if match is not None:
        clock = parse_clock(match.group(1), started_typing)
        assert clock is not None
        # A backdate is in the past: 23:50 typed at 00:05 means yesterday, not tonight.
        if clock > started_typing + timedelta(minutes=1):
            clock -= timedelta(days=1)
        at = clock
        rest = rest[match.end() :]
    rest = rest.strip()
    kind = Kind.NOTE
    if rest and rest[0] in PREFIXES:
        kind = PREFIXES[rest[0]]
        rest = rest[1:].strip()
    return ParsedNote(at=at, kind=kind, text=rest)
