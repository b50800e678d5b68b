"""What readers show otherwise than the file says (an id used twice), worded with its lines.

Readers show the first of two entries or action items with one id; each such duplicate is one
problem line naming both lines, ``warroom check`` fails on them and other readers warn once.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from warroom.sessions.store.parse import line_of
from warroom.sessions.toml_codec import Duplicate, FieldError

__all__ = ["duplicate_problems", "summary", "warn_once"]

_NAMES = {"timeline": "timeline entry", "action_items": "action item"}


def duplicate_problems(path: Path, data: bytes, duplicates: Sequence[Duplicate]) -> tuple[str, ...]:
    """One line for each duplicate, with its line in ``data`` (the whole file) and the first's.

    Indexes count a section's blocks in file order, which a lazy parse (rollups set aside)
    keeps, so the lines are the file's whatever parse found them.
    """
    out = []
    for dup in duplicates:
        line = line_of(data, FieldError("", section=dup.section, index=dup.index, key="id"))
        first = line_of(data, FieldError("", section=dup.section, index=dup.first, key="id"))
        where = f"line {line}: " if line else ""
        out.append(
            f"{path}: {where}{_NAMES[dup.section]} id {dup.item.id!r} is used again (first on "
            f"line {first}): every reader shows only the first; give one of them a new id"
        )
    return tuple(out)


def summary(problems: Sequence[str]) -> str:
    """``problems`` as one line: the first, and how many more there are."""
    more = problems[1:]
    if not more:
        return problems[0]
    lines = [m[1] for p in more if (m := _PROBLEM_LINE.search(p))]
    where = f", on line{'s' if len(lines) > 1 else ''} {', '.join(lines)}" if lines else ""
    return f"{problems[0]} (and {len(more)} more like it{where})"


_PROBLEM_LINE = re.compile(r": line (\d+): ")


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(problems: Sequence[str]) -> None:
    """One warning line on standard error for what a reader shows otherwise than the file says.

    Once per process and problem: a dashboard or a page follower reads the file again and
    again. ``sys.stderr`` is looked up here: while a Textual app runs, it captures it, so the
    screen is never written over (the line was printed already when the record was opened).
    """
    if not problems:
        return
    line = summary(problems)
    with _warned_lock:
        if line in _warned:
            return
        _warned.add(line)
    print(f"warroom: warning: {line}", file=sys.stderr)
