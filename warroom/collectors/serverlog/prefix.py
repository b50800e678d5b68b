"""The server's ``log_line_prefix`` turned into a regex that finds the prefix's fields.

Every escape of the PostgreSQL docs is known (``%a %u %d %r %h %b %p %P %t %m %n %i %e %c %l %s
%v %x %q %Q %%``, with an optional padding such as ``%-10a``); an unknown one prints nothing, as
in the server. Free-text fields (application, user, database, command tag, backend type) may
hold spaces, so they match lazily and the literal text after them anchors them. ``%q`` ends the
prefix for processes without a session: everything after it is optional. Only the first
occurrence of a field is captured.
"""

from __future__ import annotations

import re

_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
# escape -> (group name or None, pattern)
_ESCAPES: dict[str, tuple[str | None, str]] = {
    "a": ("application", r".*?"),
    "u": ("user", r".*?"),
    "d": ("database", r".*?"),
    "r": ("client", r"[^\s(]*(?:\(\d+\))?"),
    "h": ("client", r"\S*?"),
    "b": (None, r".*?"),
    "i": (None, r".*?"),
    "p": (None, r"\d*"),
    "P": (None, r"\d*"),
    "l": (None, r"\d*"),
    "x": (None, r"\d*"),
    "Q": (None, r"-?\d*"),
    "v": (None, r"\S*?"),
    "c": (None, r"\S*?"),
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "m": ("time", _TIME + r"\.\d{3}(?: \S+)?"),
    "t": ("time", _TIME + r"(?: \S+)?"),
    "s": (None, _TIME + r"(?: \S+)?"),
    "n": ("epoch", r"\d+\.\d+"),
}
_ESCAPE = re.compile(r"%(-?\d+)?(.)")
# What follows the prefix: the severity, two spaces, the message.
_TAIL = r"(?P<severity>[A-Z]+):  (?P<message>.*)$"


def prefix_regex(prefix: str) -> re.Pattern[str]:
    """A regex for one log line under ``prefix``: groups time/epoch, user, database,
    application, client (``host`` or ``host(port)``), sqlstate, severity, message."""
    head: list[str] = []
    rest: list[str] | None = None  # parts after %q, made optional
    parts = head
    taken: set[str] = set()
    pos = 0
    for m in _ESCAPE.finditer(prefix):
        parts.append(re.escape(prefix[pos : m.start()]))
        pos = m.end()
        pad, char = m.group(1), m.group(2)
        if char == "%":
            parts.append("%")
            continue
        if char == "q":
            if rest is None:
                rest = []
                parts = rest
            continue
        name, pattern = _ESCAPES.get(char, (None, ""))
        if pad:
            pattern = rf" *{pattern} *"
        if name is not None and name not in taken:
            taken.add(name)
            # A padded field may be surrounded by spaces: strip them after the match.
            pattern = f"(?P<{name}>{pattern})"
        else:
            pattern = f"(?:{pattern})"
        parts.append(pattern)
    parts.append(re.escape(prefix[pos:]))
    text = "^" + "".join(head)
    if rest is not None:
        text += "(?:" + "".join(rest) + ")?"
    return re.compile(text + _TAIL)
