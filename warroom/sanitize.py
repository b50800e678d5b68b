"""Text from the database, from other responders and from files is data: one set of rules.

Every consumer (the widgets, the alert and finding texts, the postmortem draft, the web page)
strips the same characters, so a bidirectional override that the draft removes can never reach
the terminal through a widget. Plain Python: collectors, sessions and widgets all import it.
"""

from __future__ import annotations

import re

_NEWLINES = re.compile(r"\r\n?|[\x85\u2028\u2029]")
# Whole terminal escape sequences go, so "\x1b[31m" leaves no "[31m" litter behind.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Bidirectional marks and overrides make text display differently from what it says.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0/C1 controls except tab and newline, DEL, and the bidi controls: removed from multi-line text.
_CONTROL_KEEP_LINES = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
# Everything that is not one printable line (tab and newline included: a cell is one line).
_CONTROL_ONE_LINE = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def text_block(value: object) -> str:
    """Multi-line text kept as lines: newlines normalised, escapes and controls removed."""
    text = _NEWLINES.sub("\n", str(value))
    text = _ANSI.sub("", text)
    return _CONTROL_KEEP_LINES.sub("", text)


def one_line(value: object, limit: int | None = None) -> str:
    """One printable line: controls become spaces, runs of space collapse, long text ends in …"""
    text = _ANSI.sub("", str(value))
    text = _CONTROL_ONE_LINE.sub(" ", text)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text
