"""What a frame holds: one server's sample at one moment, and every client backend then.

The figures are the sample's JSON object exactly as ``warroom sample --json`` prints it
(collectors/headless.py makes it): one schema for scripts, the recorder and replay. A backend
is a ``BackendRow``: its identity is (pid, backend start), since a pid is reused by the next
connection; times are epoch seconds (absolute, so an idle row is the same row next second).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from typing import Any

from warroom.sanitize import one_line

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

    @property
    def key(self) -> tuple[int, float | None]:
        return (self.pid, self.backend_start)

    def to_list(self) -> list[Any]:
        """The stored form: a JSON array in field order (names would double its size)."""
        out = list(astuple(self))
        out[12] = list(self.blocked_by)
        return out

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
    line = one_line(text)
    raw = line.encode()
    if len(raw) <= limit:
        return line
    return raw[:limit].decode(errors="ignore")


def epoch(value: object, at: float | None = None, age: object = None) -> float | None:
    """A time as epoch seconds (ms precision): a datetime (naive means UTC), ISO text, or —
    from a listing that only gives ages — ``at`` minus ``age`` to the whole second, so the
    same transaction keeps the same start from one frame to the next."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return round(moment.timestamp(), 3)
    if isinstance(value, str) and value:
        return epoch(datetime.fromisoformat(value))
    if value is None and at is not None and isinstance(age, int | float):
        return float(round(at - age))
    return None


def row_of(backend: object, at: float) -> BackendRow:
    """A frame's row from the backends view's ``Backend`` (collectors/backends.py)."""
    get = backend.__getattribute__
    fields = {name for name in dir(backend) if not name.startswith("_")}

    def opt(name: str, default: Any = None) -> Any:
        return get(name) if name in fields else default

    port = opt("client_port")
    return BackendRow(
        pid=int(get("pid")),
        backend_start=epoch(opt("backend_start")),
        database=one_line(opt("database", ""), 64),
        application=one_line(get("application"), 64),
        user=one_line(get("user"), 64),
        client=one_line(get("client"), 64),
        client_port=int(port) if port is not None else None,
        state=one_line(get("state"), 40),
        wait_type=one_line(get("wait_type"), 40),
        wait_event=one_line(get("wait_event"), 64),
        xact_start=epoch(opt("xact_start"), at, opt("xact_s")),
        query_start=epoch(opt("query_start"), at, opt("query_s")),
        blocked_by=tuple(int(p) for p in get("blocked_by")),
        query=cut_query(get("query")),
    )
