"""What a frame holds: one server's sample at one moment, and every client backend then.

The figures are the sample's JSON object exactly as ``warroom sample --json`` prints it
(collectors/headless.py makes it): one schema for scripts, the recorder and replay. A backend
is a ``BackendRow``: its identity is (pid, backend start), since a pid is reused by the next
connection; times are epoch seconds (absolute, so an idle row is the same row next second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from warroom.sanitize import one_line

if TYPE_CHECKING:
    from warroom.collectors.backends import Backend

QUERY_BYTES = 1024  # the query text kept per backend, cut on a character boundary


@dataclass(frozen=True, slots=True)
class BackendRow:
    pid: int
    backend_start: float | None  # epoch seconds; None when the listing does not say
    database: str
    application: str
    user: str
    client: str  # address, 'local' for a socket
    client_port: int | None
    state: str
    wait_type: str
    wait_event: str
    xact_start: float | None
    query_start: float | None
    blocked_by: tuple[int, ...]
    query: str  # sanitised to one line, at most QUERY_BYTES of UTF-8
    query_truncated: bool = False  # the text is cut: not the whole statement

    @property
    def key(self) -> tuple[int, float | None]:
        return (self.pid, self.backend_start)

    def to_list(self) -> list[Any]:
        """The stored form: a JSON array in field order (names would double its size)."""
        return [self.pid, self.backend_start, self.database, self.application, self.user,
                self.client, self.client_port, self.state, self.wait_type, self.wait_event,
                self.xact_start, self.query_start, list(self.blocked_by), self.query,
                self.query_truncated]  # fmt: skip

    @classmethod
    def from_list(cls, values: list[Any]) -> BackendRow:
        values = list(values)
        values[12] = tuple(values[12])
        return cls(*values)


@dataclass(frozen=True, slots=True)
class Frame:
    server: str
    at: datetime
    status: str  # the sample's: up or down (why is in figures["error"])
    figures: dict[str, Any]  # the sample's JSON object
    backends: tuple[BackendRow, ...] | None  # None: not known at this moment (server down)


def cut_query(text: str, limit: int = QUERY_BYTES) -> str:
    """One printable line of at most ``limit`` UTF-8 bytes, never half a character."""
    return _cut(text, limit)[0]


@lru_cache(maxsize=8192)
def _cut(text: str, limit: int = QUERY_BYTES) -> tuple[str, bool]:
    """The line and whether it was cut. Cached: a backend's text is the same from one second
    to the next until it runs another query, and sanitising 1,000 texts a second would be most
    of the recorder's CPU."""
    line = one_line(text)
    raw = line.encode()
    if len(raw) <= limit:
        return line, False
    return raw[:limit].decode(errors="ignore"), True


@lru_cache(maxsize=4096)
def _name(text: str, limit: int) -> str:
    """Applications, users, clients, states: few distinct values, each sanitised once."""
    return one_line(text, limit)


@lru_cache(maxsize=65536)
def _stamp(moment: datetime) -> float:
    """Cached: a backend's start times repeat every second until it starts something else."""
    return round((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp(), 3)


@lru_cache(maxsize=65536)
def _parsed(text: str) -> float:
    moment = datetime.fromisoformat(text)
    return round((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp(), 3)


def epoch(value: object, at: float | None = None, age: object = None) -> float | None:
    """A time as epoch seconds (ms precision): a datetime (naive means UTC), ISO text, or —
    from a listing that only gives ages — ``at`` minus ``age`` to the whole second, so the
    same transaction keeps the same start from one frame to the next."""
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, str) and value:
        return _parsed(value)
    if value is None and at is not None and isinstance(age, int | float):
        return float(round(at - age))
    return None


def row_of(backend: Backend, at: float) -> BackendRow:
    """A frame's row from the backends view's ``Backend`` (collectors/backends.py)."""
    query, cut = _cut(backend.query)
    return BackendRow(
        pid=backend.pid,
        backend_start=epoch(backend.backend_start),
        database=_name(backend.database, 64),
        application=_name(backend.application, 64),
        user=_name(backend.user, 64),
        client=_name(backend.client, 64),
        client_port=backend.client_port,
        state=_name(backend.state, 40),
        wait_type=_name(backend.wait_type, 40),
        wait_event=_name(backend.wait_event, 64),
        xact_start=epoch(backend.xact_start, at, backend.xact_s),
        query_start=epoch(backend.query_start, at, backend.query_s),
        blocked_by=backend.blocked_by,
        query=query,
        # Cut by the server, by the list, or here (1 kB of UTF-8 may be under 1024 characters).
        query_truncated=backend.query_truncated or cut,
    )


class Rows:
    """``row_of`` for a server's listing each second, reusing last second's row for a backend
    whose recorded fields did not change (half of them or more, most seconds): the recorder's
    CPU is mostly these rows. One per server, used from its poller's thread only."""

    def __init__(self) -> None:
        self._last: dict[tuple[Any, ...], BackendRow] = {}

    def of(self, backends: Sequence[Backend], at: float) -> tuple[BackendRow, ...]:
        last, now = self._last, {}
        out = []
        for b in backends:
            # Every field row_of reads except the ages (they change every second, and the
            # starts they stand in for are in the key).
            key = (b.pid, b.backend_start, b.state, b.xact_start, b.query_start, b.wait_type,
                   b.wait_event, b.blocked_by, b.query, b.application, b.user, b.client,
                   b.database, b.client_port, b.query_truncated)  # fmt: skip
            row = last.get(key)
            if row is None or (b.xact_start is None and b.xact_s is not None):
                row = row_of(b, at)
            now[key] = row
            out.append(row)
        self._last = now
        return tuple(out)
