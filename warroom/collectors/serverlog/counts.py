"""LogCounts, one window's counts, and the bounded tally that builds it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from warroom.collectors.serverlog.kinds import KINDS
from warroom.collectors.serverlog.parse import Event

MAX_GROUPS = 1000  # distinct groups kept per kind and window; the rest add up as "(other)"
MAX_SECONDS = 600  # per-second counts kept per window (the latest seconds)
OTHER = "(other)"


@dataclass(frozen=True, slots=True)
class Group:
    """Who: the fields the log line carried ("" where it did not), and how many times."""

    user: str
    database: str
    application: str
    client: str
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "database": self.database,
                "application": self.application, "client": self.client,
                "count": self.count}  # fmt: skip


@dataclass(frozen=True, slots=True)
class LogCounts:
    """What the server logged in one window (since the previous ``read()``).

    ``source`` is "file", "pg_read_file" or None; with None, ``missing`` says in one line what
    is missing and ``fix`` the GRANT or setting that gives a source. ``totals`` has every kind
    of ``kinds.KINDS`` (0 included); ``top`` the largest groups per kind; ``by_second`` the
    counts per kind for each second of the log's own clock that had any. ``behind_bytes`` is the
    backlog left for the next read (a huge backlog is read in bounded chunks).
    """

    source: str | None
    format: str | None = None
    path: str | None = None
    seconds: float = 0.0
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    top: dict[str, tuple[Group, ...]] = field(default_factory=dict)
    by_second: dict[str, dict[str, int]] = field(default_factory=dict)
    behind_bytes: int = 0
    missing: str = ""
    fix: str = ""

    def per_second(self, kind: str) -> float:
        return self.totals.get(kind, 0) / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``server_log`` object of a sample line."""
        out: dict[str, Any] = {"source": self.source}
        if self.source is None:
            out["missing"] = self.missing
            if self.fix:
                out["fix"] = self.fix
            return out
        out.update({
            "format": self.format,
            "window_s": round(self.seconds, 3),
            "totals": dict(self.totals),
            "per_s": {k: round(self.per_second(k), 3) for k in KINDS if self.totals.get(k)},
            "top": {k: [g.to_json() for g in groups] for k, groups in self.top.items() if groups},
            "behind_bytes": self.behind_bytes,
        })  # fmt: skip
        return out


class Tally:
    """Counts events into groups, in bounded memory, until ``take()`` empties it."""

    def __init__(self, top: int = 5) -> None:
        self._top = top
        self._reset()

    def _reset(self) -> None:
        self._totals: Counter[str] = Counter()
        self._groups: dict[str, Counter[tuple[str, str, str, str]]] = {}
        self._seconds: dict[str, Counter[str]] = {}

    def add(self, event: Event) -> None:
        self._totals[event.kind] += 1
        groups = self._groups.setdefault(event.kind, Counter())
        key = (event.user, event.database, event.application, event.client)
        if key not in groups and len(groups) >= MAX_GROUPS:
            key = (OTHER, OTHER, OTHER, OTHER)
        groups[key] += 1
        if event.second:
            per = self._seconds.get(event.second)
            if per is None:
                if len(self._seconds) >= MAX_SECONDS:
                    del self._seconds[next(iter(self._seconds))]  # the oldest second
                per = self._seconds[event.second] = Counter()
            per[event.kind] += 1

    def take(self, **fields: Any) -> LogCounts:
        totals = {k: self._totals.get(k, 0) for k in KINDS}
        top = {kind: tuple(Group(*key, count=n) for key, n in groups.most_common(self._top))
               for kind, groups in self._groups.items()}  # fmt: skip
        by_second = {s: dict(c) for s, c in self._seconds.items()}
        self._reset()
        return LogCounts(totals=totals, top=top, by_second=by_second, **fields)
