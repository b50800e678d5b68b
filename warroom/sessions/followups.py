"""Follow-ups across sessions: a session's action items read without its samples, and which
of them are overdue.

`warroom sessions` lists overdue items of every session, and a session of eight hours is mostly
``[[samples]]``: parsing all of it per file to find a handful of action items would make the
list slow. Every value in a session file is on one line and a line starting with ``[[`` is
always a block header (toml_codec), so each ``[[action_items]]`` block is cut out by its header
and read alone. A file that does not follow that (a hand edit) is read whole instead.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from warroom.sessions.model import ActionItem, Incident
from warroom.sessions.times import utcnow
from warroom.sessions.toml_codec import FieldError, decode_action_item

_HEADER = b"\n[[action_items]]\n"


def today() -> date:
    """The day due dates are compared with: UTC, as every time warroom writes."""
    return utcnow().date()


def read_action_items(path: Path) -> list[ActionItem]:
    """The action items of the session at ``path``, first of each id kept (as readers do).

    A torn last block is left out, as every reader leaves it; OSError when the file cannot be
    read; a file whose blocks cannot be cut out is read whole (SessionError when broken).
    """
    data = Path(path).read_bytes()
    items: list[ActionItem] = []
    start = data.find(_HEADER)
    index = 0
    while start >= 0:
        end = data.find(b"\n[[", start + 1)
        block = data[start : end + 1 if end >= 0 else len(data)]
        try:
            table = tomllib.loads(block.decode("utf-8"))["action_items"][0]
            items.append(decode_action_item(table, index))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError, KeyError, IndexError):
            if end >= 0:  # not the torn tail: this file is not cut the way warroom writes
                return _whole(path)
        index += 1
        start = data.find(_HEADER, end) if end >= 0 else -1
    first: dict[str, ActionItem] = {}
    for item in items:
        first.setdefault(item.id, item)
    return list(first.values())


def _whole(path: Path) -> list[ActionItem]:
    from warroom.sessions.store import load

    return list(load(path, warn=False).incident.action_items)


def overdue(items: list[ActionItem], on: date | None = None) -> list[ActionItem]:
    """Open items whose due date has passed, the most overdue first."""
    day = on or today()
    late = [item for item in items if item.overdue(day)]
    return sorted(late, key=lambda item: (item.due, item.id))


def overdue_of(incident: Incident, on: date | None = None) -> list[ActionItem]:
    return overdue(incident.action_items, on)
