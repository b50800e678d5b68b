"""The figures a window of samples leaves behind: one rollup type for everything that reads it.

``SampleRollup`` (with the few value types it holds: ``Count``, ``Group``, ``PoolFigure``,
``RefusedFigure``) is built by the collectors (``collectors.series.RollupBuilder``), stored by the
record (``sessions.model`` names it; ``sessions.toml_codec`` writes and reads it) and turned back
into samples by replay. It sits beside ``sanitize`` and ``formats``, outside both packages, so
that neither depends on the other for it: ``warroom note`` and the web page read the record
without importing a collector. Plain frozen data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from warroom.sanitize import one_line

Pairs = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Count:
    """A name (application, user, client address) and how many connections it holds."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class Group:
    """Connections that share an application and a user: one service, whatever it calls itself.

    Most drivers leave application_name blank, so the name alone would merge unrelated services
    (and never say whose they are): the user is part of the key, and the client addresses are
    the evidence of where they come from. Counted from process titles there is no application
    name, but the database is known.
    """

    application: str
    user: str
    count: int
    clients: tuple[Count, ...] = ()  # its busiest client addresses, most first
    client_count: int = 0  # how many distinct addresses in all
    idle_in_transaction: int = 0
    oldest_idle_s: float | None = None  # of those idle in a transaction (unknown from titles)
    database: str | None = None  # only counted from process titles

    @property
    def name(self) -> str:
        """Its application, else ``user X``: two users are never one name."""
        return self.application if self.application else f"user {self.user}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": one_line(self.name, 64),
            "application": one_line(self.application, 64),
            "user": one_line(self.user, 64),
            "database": None if self.database is None else one_line(self.database, 64),
            "count": self.count,
            "idle_in_transaction": self.idle_in_transaction,
            "clients": counts_json(self.clients),
            "client_count": self.client_count,
        }


def counts_json(counts: tuple[Count, ...]) -> list[dict[str, Any]]:
    return [{"name": one_line(c.name, 64), "count": c.count} for c in counts]


@dataclass(frozen=True, slots=True)
class PoolFigure:
    """One PgBouncer pool as a rollup keeps it (the busiest few of a window)."""

    name: str
    cl_active: int = 0
    cl_waiting: int = 0
    sv_active: int = 0
    sv_idle: int = 0
    maxwait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RefusedFigure:
    """Who the server's log says it turned away in a window: a refused connection carries its
    user, database and client address, never an application name (none was set yet)."""

    user: str
    database: str
    client: str
    count: int

    @property
    def name(self) -> str:
        """``user checkout from 10.0.0.5``: what the draft and the page say."""
        who = f"user {self.user}" if self.user else "an unknown user"
        return who + (f" from {self.client}" if self.client else "")


@dataclass(frozen=True, slots=True)
class SampleRollup:
    """One window (10 s by default) of live samples, as the dashboard appends them.

    ``at`` is the window start (a wall-clock multiple of ``seconds``, UTC). ``status`` is
    ``up`` when every sample in the window was up, ``down`` when none was, ``partial``
    otherwise. Connection counts and latencies come from the samples that were up. ``refused``
    counts the samples in which warroom's own new connection failed (its connect probe, or the
    monitor itself turned away). Schema 1 files hold only the fields up to ``refused``; the rest
    (schema 2) is what the panes need to redraw the window, and is None or empty when a file
    predates it; the fields after ``repl_state`` are optional keys of schema 2 (issue 19).
    """

    at: datetime
    seconds: float = 10.0
    samples: int = 0
    status: str = "up"  # up, down, or partial (some samples in the window failed)
    conn_min: int | None = None
    conn_mean: float | None = None
    conn_max: int | None = None
    max_connections: int | None = None
    query_p50_ms: float | None = None
    query_p95_ms: float | None = None
    query_max_ms: float | None = None
    connect_max_ms: float | None = None
    refused: int = 0
    # -- schema 2 --
    conn_last: int | None = None
    usable: int | None = None
    waiting: int | None = None
    by_state: Pairs = ()
    top_apps: Pairs = ()  # the five biggest holders at the window's last sample
    query_p99_ms: float | None = None
    connect_ms: float | None = None  # the last connect probe of the window
    refused_by: Pairs = ()  # failure kind -> samples refused
    down_kind: str | None = None  # why the server was down (the window's last failure)
    tps: float | None = None
    host_cpu: float | None = None
    host_mem: float | None = None
    host_swap: float | None = None
    host_load: float | None = None
    host_tcp: Pairs = ()  # TCP state -> sockets to the database port
    bouncer_waiting: int | None = None
    bouncer_maxwait_s: float | None = None
    bouncer_error: str | None = None
    bouncer_pools: tuple[PoolFigure, ...] = ()
    # -- several servers (issue 12): which one, its role and replication lag (worst in window)
    server: str | None = None  # None: stored unnamed (a one-server session); see servers.py
    role: str | None = None  # primary or replica
    lag_bytes: int | None = None
    lag_s: float | None = None
    repl_state: str | None = None  # replica: streaming, paused, disconnected
    # -- who held the slots and who the server refused (issue 19), at the window's last sample
    top_users: Pairs = ()
    top_clients: Pairs = ()
    top_groups: tuple[Group, ...] = ()  # application and user together, busiest client kept
    # The server log's counts over the window: ``log_source`` is how it was read ("file",
    # "pg_read_file"), None when it was not; ``log_counts`` the kinds seen (0s left out).
    log_source: str | None = None
    log_counts: Pairs = ()
    log_refused_top: tuple[RefusedFigure, ...] = ()
    # Where the window came from when not from this incident's own dashboard: "recorder" for
    # the lead-up taken from the flight recorder (issue 21). None (absent) otherwise.
    source: str | None = None

    def __post_init__(self) -> None:
        # sessions.times.as_utc's rule, written out: collectors do not import sessions.
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"time {self.at.isoformat()} has no time zone")
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        for name in ("by_state", "top_apps", "refused_by", "host_tcp", "top_users",
                     "top_clients", "log_counts"):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, tuple):
                pairs = value.items() if isinstance(value, dict) else value
                object.__setattr__(self, name, tuple((str(k), int(v)) for k, v in pairs))
        if not isinstance(self.bouncer_pools, tuple) or any(
            not isinstance(p, PoolFigure) for p in self.bouncer_pools
        ):
            pools = tuple(
                p if isinstance(p, PoolFigure) else PoolFigure(*p) for p in self.bouncer_pools
            )
            object.__setattr__(self, "bouncer_pools", pools)

    @property
    def usable_slots(self) -> int | None:
        """Slots applications may use: recorded (schema 2), else max_connections (schema 1)."""
        return self.usable if self.usable is not None else self.max_connections

    @property
    def end(self) -> datetime:
        return self.at + timedelta(seconds=self.seconds)

    @property
    def log_refused(self) -> int | None:
        """Connections the server's log says it refused in the window; None: log not read."""
        if self.log_source is None:
            return None
        return next((n for kind, n in self.log_counts if kind == "refused"), 0)


def group_row(group: Group) -> tuple[str, str, int, int, str, int]:
    """A holder as a rollup stores it: (application, user, count, client_count, busiest
    client, its connections); the other addresses are left to the live sample."""
    top = group.clients[0] if group.clients else Count("", 0)
    return (group.application, group.user, group.count, group.client_count, top.name, top.count)


def group_of_row(application: str, user: str, count: int, client_count: int, client: str,
                 client_conns: int) -> Group:
    """The inverse of ``group_row``."""
    clients = (Count(client, client_conns),) if client else ()
    return Group(application, user, count, clients=clients, client_count=client_count)
