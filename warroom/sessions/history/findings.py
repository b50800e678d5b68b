"""Findings across incidents: which kind of finding an entry is, and whom it names.

A finding lands on the timeline as its one line of text (collectors/findings: each rule builds
it from its evidence), with no rule name beside it. The history groups them by the words each
rule writes; a line no pattern knows is grouped by its own text with the numbers taken out, so
a new rule still counts, under its words. The names are the application or user the rules
name (``user checkout``, ``checkout-api holds 180 of 190``, ``pid 42 (billing, ...)``).
"""

from __future__ import annotations

import re

from warroom.sanitize import one_line

# (label, pattern): the first that matches names the finding. Patterns follow the texts the
# rules in collectors/findings write.
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("server refused connections (retry storm)", re.compile(r"refused [\d,.]+ connections/s")),
    ("connection churn", re.compile(r"sessions/s (came and went|come and go)")),
    ("network fine, server full", re.compile(r"the network is fine")),
    ("server full", re.compile(r"^the server is full")),
    ("one holder fills the slots", re.compile(r"\bholds \d+ of\b")),
    ("sessions waiting, not working", re.compile(r"sessions are waiting")),
    ("one statement dominates", re.compile(r"^one statement is \d+ % of database time")),
    ("PgBouncer clients waiting", re.compile(r"^PgBouncer pool .* clients waiting")),
    ("lock blocker", re.compile(r"\bblocks \d+ sessions\b")),
)
_NUMBER = re.compile(r"\d[\d,.]*")
# Longest text kept as a finding's label when no pattern knows it.
LABEL_CHARS = 60

_USER = re.compile(r"\buser ([^\s,;:()]+)(?: \(([^()]+)\))?")
_HOLDER = re.compile(r"^([^\s,;:()]+) holds \d+ of\b")
_LOCK_APP = re.compile(r"\bpid \d+ \(([^,()]+),")
_CHURNER = re.compile(r"sessions/s came and went from ([^\s,;:()]+)")
_NAME_CHARS = 64


def kind_of(text: str) -> str:
    """The finding's kind, by the words its rule writes."""
    line = one_line(text)
    for label, pattern in KINDS:
        if pattern.search(line):
            return label
    return _NUMBER.sub("N", line)[:LABEL_CHARS] or "(no text)"


def named(text: str) -> set[str]:
    """The applications and users a finding names, as ``application X`` / ``user Y``."""
    line = one_line(text)
    found: set[str] = set()
    for match in _USER.finditer(line):
        found.add(f"user {match.group(1)[:_NAME_CHARS]}")
        if match.group(2) and not match.group(2).startswith("from "):
            found.add(f"application {match.group(2)[:_NAME_CHARS]}")
    # An application by itself: a pool's holder, a churner, a lock's root ("user X" is above).
    for pattern in (_HOLDER, _CHURNER, _LOCK_APP):
        for match in pattern.finditer(line):
            app = match.group(1).strip()
            if app and app != "user":
                found.add(f"application {app[:_NAME_CHARS]}")
    return found
