"""Top statements by database time over the last minute, from pg_stat_statements deltas.

pg_stat_statements holds running totals since its last reset; what matters in an incident is
what the server spent its time on *just now*. So we keep timed snapshots of (queryid -> total
time, calls) and subtract the one about a minute old from the newest. Texts are fetched only for
the few statements that make the top, and cached by queryid (reading texts makes the server read
its whole query-text file, which we avoid doing every few seconds).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass

# The statements live in pg_queries_statements.py; re-exported for bench/bench_statements.py.
from warroom.collectors.pg_queries_statements import CHECK_SQL as CHECK_SQL
from warroom.collectors.pg_queries_statements import TEXT_CHARS
from warroom.collectors.pg_queries_statements import numbers_sql as numbers_sql
from warroom.collectors.pg_queries_statements import texts_sql as texts_sql
from warroom.collectors.sample import Statement
from warroom.sanitize import one_line

WINDOW_S = 60.0
TOP = 5
# warroom's own statements (the sample, these reads) are not the application's database time.
_OWN_MARKERS = ("warroom_", "pg_stat_statements(", "FROM pg_settings", "FROM pg_extension e")


def parse_numbers(text: str) -> dict[int, tuple[float, int]]:
    return {int(q): (float(t or 0.0), int(c or 0)) for q, t, c in json.loads(text)}


def parse_texts(text: str) -> dict[int, str]:
    return {int(k): one_line(v or "", TEXT_CHARS) for k, v in json.loads(text).items()}


@dataclass(frozen=True, slots=True)
class _Snapshot:
    at: float  # monotonic seconds
    totals: dict[int, tuple[float, int]]


class StatementWindow:
    """Snapshots over the last minute; ``top()`` gives the deltas. Pure: no I/O."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._snaps: deque[_Snapshot] = deque()
        self.texts: dict[int, str] = {}
        self.own: set[int] = set()

    def add(self, at: float, totals: dict[int, tuple[float, int]]) -> None:
        self._snaps.append(_Snapshot(at, totals))
        # Keep the newest snapshot that is at least a window old as the base to subtract.
        while len(self._snaps) > 2 and self._snaps[1].at <= at - self.window_s:
            self._snaps.popleft()

    def clear(self) -> None:
        self._snaps.clear()

    def deltas(self, n: int = TOP) -> list[tuple[int, float, int, float, float]]:
        """Top ``n`` as (queryid, ms, calls, share, window_s), most time first."""
        if len(self._snaps) < 2:
            return []
        old, new = self._snaps[0], self._snaps[-1]
        window = new.at - old.at
        rows: list[tuple[int, float, int]] = []
        for qid, (total, calls) in new.totals.items():
            if qid in self.own:
                continue
            before = old.totals.get(qid, (0.0, 0))
            ms, c = total - before[0], calls - before[1]
            if ms < 0 or c < 0:  # reset between the snapshots: what we have is since the reset
                ms, c = total, calls
            if ms > 0:
                rows.append((qid, ms, c))
        grand = sum(r[1] for r in rows)
        rows.sort(key=lambda r: -r[1])
        return [(q, ms, c, ms / grand if grand else 0.0, window) for q, ms, c in rows[:n]]

    def missing_texts(self, ids: list[int]) -> list[int]:
        return [q for q in ids if q not in self.texts]

    def learn_texts(self, texts: dict[int, str]) -> None:
        self.texts.update(texts)
        self.own.update(q for q, t in texts.items() if any(m in t for m in _OWN_MARKERS))

    def top(self, n: int = TOP) -> tuple[Statement, ...]:
        return tuple(
            Statement(q, self.texts.get(q, f"queryid {q}"), ms, c, share, window)
            for q, ms, c, share, window in self.deltas(n)
        )
