"""What a PostgreSQL sample is: frozen data, or a typed failure. Shared by every consumer.

A sample never raises into its caller: when the database cannot answer, ``status`` is ``down``
and ``error`` says why. When the monitoring connection answers but the connect probe is refused
(a connection storm), ``status`` stays ``up`` and ``probe_error`` carries the refusal.

Over 500 lines on purpose: this is the one record every consumer shares (collectors, findings,
the UI, the session files through ``to_json``), frozen dataclasses and their one serialization.
Split by topic, the record's shape and its JSON would be spread over several files that must
change together; the parts are each small and read top to bottom, failures first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from warroom.rollup import Count as Count  # re-exported: the sample's own names
from warroom.rollup import Group as Group
from warroom.rollup import counts_json
from warroom.sanitize import one_line


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTH = "auth"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    SHUTTING_DOWN = "shutting_down"
    PERMISSION = "permission"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    message: str
    sqlstate: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "message": self.message, "sqlstate": self.sqlstate}


@dataclass(frozen=True, slots=True)
class LongQuery:
    pid: int
    age_s: float
    application: str
    user: str
    state: str
    query: str  # first 200 characters, as the server gave them; display code must sanitise


@dataclass(frozen=True, slots=True)
class BlockedBackend:
    pid: int
    blocked_by: tuple[int, ...]
    application: str
    wait_s: float
    query: str


@dataclass(frozen=True, slots=True)
class Connections:
    total: int  # client backends, not counting warroom's own monitoring connection
    # max_connections; None when unknown (counted from process titles before warroom ever
    # had a slot to read it with)
    max: int | None
    reserved: int  # superuser_reserved_connections (+ reserved_connections on 16+)
    by_state: dict[str, int]
    waiting: int  # wait_event_type = 'Lock'
    by_application: tuple[Count, ...]
    by_user: tuple[Count, ...] = ()
    by_client: tuple[Count, ...] = ()
    by_database: tuple[Count, ...] = ()  # only counted from process titles
    by_group: tuple[Group, ...] = ()  # application and user together, most connections first

    @property
    def usable(self) -> int | None:
        """Slots applications may use; None while max_connections is unknown."""
        if self.max is None:
            return None
        return max(self.max - self.reserved, 1)

    @property
    def saturation(self) -> float | None:
        """Fraction (0..1, may exceed 1 when superusers use reserved slots) of usable slots;
        None while the limit is unknown (a made-up limit would make a made-up percentage)."""
        usable = self.usable
        return None if usable is None else self.total / usable


@dataclass(frozen=True, slots=True)
class WaitCount:
    """Sessions waiting on one wait event (``type`` is wait_event_type, e.g. Lock, LWLock, IO)."""

    type: str
    event: str
    count: int


@dataclass(frozen=True, slots=True)
class IdleTxApp:
    """One application's sessions idle in a transaction, and the oldest one's idle time."""

    name: str
    count: int
    oldest_s: float


@dataclass(frozen=True, slots=True)
class LockRoot:
    """A backend others wait behind that waits on nobody itself: where a lock chain starts."""

    pid: int
    application: str
    user: str
    state: str
    xact_s: float | None  # age of its transaction
    state_s: float | None  # time in its current state
    blocks: int  # sessions waiting on it, directly or further down the chain
    query: str  # its last statement, which may not be the one that took the lock
    holds: tuple[HeldLock, ...] = ()  # the locks its waiters queue for (read only when any)


@dataclass(frozen=True, slots=True)
class HeldLock:
    """A lock a chain's root holds that sessions wait for, from pg_locks."""

    locktype: str  # relation, tuple, transactionid, advisory, ...
    mode: str  # e.g. RowExclusiveLock
    relation: str  # the relation's name: locked, or (transactionid) the rows waited for
    target: str  # what else names it: the transaction id, (page,tuple), the object id


@dataclass(frozen=True, slots=True)
class Churn:
    """Connections made and lost since the previous sample (None on the first one).

    Churn is ``came_and_went``: sessions that connected and left within the interval, the new
    sessions less those of them still connected. A pool warming up or a deploy makes new
    sessions that stay, which is not churn.
    """

    interval_s: float
    new_sessions: int | None  # pg_stat_database.sessions delta (14+), else backend_start counts
    abandoned: int | None = None  # 14+: client went away without terminating
    fatal: int | None = None
    killed: int | None = None
    new_by_application: tuple[Count, ...] = ()  # still connected, started within the interval
    source: str = "sessions"  # "sessions" (14+) or "backend_start" (13: only the survivors)
    came_and_went: int | None = None  # 14+ only: before, the server does not count sessions
    # Who the new sessions still connected at the sample are (application and user together,
    # named as the pool rule names them): a churner's sessions are caught there sample after
    # sample, a pool's only while it warms up.
    new_by_group: tuple[Group, ...] = ()

    @property
    def new_per_s(self) -> float | None:
        if self.new_sessions is None or self.interval_s <= 0:
            return None
        return self.new_sessions / self.interval_s

    @property
    def came_and_went_per_s(self) -> float | None:
        if self.came_and_went is None or self.interval_s <= 0:
            return None
        return self.came_and_went / self.interval_s


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement's share of database time over ``window_s`` (pg_stat_statements deltas)."""

    queryid: int
    text: str  # shortened and sanitised already
    total_ms: float
    calls: int
    share: float  # of all statements' time in the window, 0..1
    window_s: float

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else self.total_ms


@dataclass(frozen=True, slots=True)
class SettingChange:
    name: str
    old: str | None  # None: a setting that did not exist before
    new: str | None  # None while only a restart can apply it (pending_restart)
    pending_restart: bool = False

    def describe(self) -> str:
        if self.pending_restart:
            return f"{self.name} {self.old} → (changed in the config; applies at restart)"
        return f"{self.name} {self.old if self.old is not None else '(unset)'} → {self.new}"


@dataclass(frozen=True, slots=True)
class ServerChange:
    """Something that happened to the server itself: a restart, a reload, a promotion."""

    kind: str  # "restart", "reload", "promotion", "recovery"
    at: datetime  # when the server says it happened (start time, load time) or we saw it
    text: str  # one line for the timeline
    settings: tuple[SettingChange, ...] = ()
    downtime_s: float | None = None  # restart only


@dataclass(frozen=True, slots=True)
class ReplicaLink:
    """One standby as its primary sees it (a ``pg_stat_replication`` row)."""

    name: str  # application_name (a standby's cluster_name by default), else its address
    # None below: the server hides a WAL sender's details from a role without pg_monitor
    # (or pg_read_all_stats); ``Replication.note`` then says so.
    client: str | None  # client_addr, or "local" over a Unix socket
    state: str | None  # startup, catchup, streaming, backup, stopping
    sync_state: str | None  # async, potential, sync, quorum
    sent_lag_bytes: int | None  # pg_current_wal_lsn() - sent_lsn
    replay_lag_bytes: int | None  # pg_current_wal_lsn() - replay_lsn
    # From pg_stat_replication's *_lag intervals; 0 (not NULL) once the standby has all the
    # WAL and the primary is quiet, when the server stops measuring.
    write_lag_s: float | None
    flush_lag_s: float | None
    replay_lag_s: float | None
    write_lag_bytes: int | None = None  # pg_current_wal_lsn() - write_lsn
    flush_lag_bytes: int | None = None  # pg_current_wal_lsn() - flush_lsn


@dataclass(frozen=True, slots=True)
class Slot:
    """A replication slot on the primary: an inactive one keeps WAL until the disk fills."""

    name: str
    kind: str  # physical or logical
    active: bool
    retained_bytes: int | None  # pg_current_wal_lsn() - restart_lsn
    wal_status: str | None = None  # reserved, extended, unreserved, lost (13+)


@dataclass(frozen=True, slots=True)
class Replication:
    """Where the server stands in replication, from its own views (chosen by version).

    A primary lists its standbys and slots; a replica its receive and replay positions. Lag on
    a replica is what it has received but not replayed (bytes), and how far its last replayed
    transaction is behind now (seconds; 0 when it has replayed all it received, so an idle
    primary does not read as lag).
    """

    role: str  # "primary" or "replica"
    # A primary's standbys and slots (a cascading replica's too, measured against the WAL it
    # has received).
    replicas: tuple[ReplicaLink, ...] = ()
    slots: tuple[Slot, ...] = ()
    receive_lsn: str | None = None  # replica only, from here down
    replay_lsn: str | None = None
    lag_bytes: int | None = None
    lag_s: float | None = None
    replay_paused: bool = False  # paused, or a pause requested (it stops at the next record)
    replay_pause_state: str | None = None  # not paused, pause requested, paused (14+ tells)
    upstream: str | None = None  # the primary it streams from (pg_stat_wal_receiver)
    # A WAL receiver is streaming; False without one (or while it starts or waits), None when
    # the server hides its status from the monitoring role.
    receiving: bool | None = None
    note: str | None = None  # why some figures are None (privileges)

    def to_json(self) -> dict[str, Any]:
        """The ``replication`` object of ``warroom sample --json``."""
        return {
            "role": self.role,
            "lag_bytes": self.lag_bytes,
            "lag_s": _ms(self.lag_s),
            "replay_paused": self.replay_paused,
            "replay_pause_state": self.replay_pause_state,
            "receiving": self.receiving,
            "upstream": None if self.upstream is None else one_line(self.upstream, 128),
            "receive_lsn": self.receive_lsn,
            "replay_lsn": self.replay_lsn,
            "max_lag_bytes": self.max_lag_bytes,
            "max_lag_s": _ms(self.max_lag_s),
            "replicas": [
                {
                    # application_name is whatever the standby sent: data, one line.
                    "name": one_line(r.name, 64),
                    "client": r.client,
                    "state": r.state,
                    "sync_state": r.sync_state,
                    "sent_lag_bytes": r.sent_lag_bytes,
                    "write_lag_bytes": r.write_lag_bytes,
                    "flush_lag_bytes": r.flush_lag_bytes,
                    "replay_lag_bytes": r.replay_lag_bytes,
                    "write_lag_s": _ms(r.write_lag_s),
                    "flush_lag_s": _ms(r.flush_lag_s),
                    "replay_lag_s": _ms(r.replay_lag_s),
                }
                for r in self.replicas
            ],
            "slots": [
                {
                    "name": one_line(sl.name, 64),
                    "kind": sl.kind,
                    "active": sl.active,
                    "retained_bytes": sl.retained_bytes,
                    "wal_status": sl.wal_status,
                }
                for sl in self.slots
            ],
            "note": self.note,
        }

    @property
    def max_lag_bytes(self) -> int | None:
        """The figure the servers strip shows: own lag on a replica, worst standby on a primary."""
        if self.role == "replica":
            return self.lag_bytes
        values = [r.replay_lag_bytes for r in self.replicas if r.replay_lag_bytes is not None]
        return max(values) if values else None

    @property
    def max_lag_s(self) -> float | None:
        if self.role == "replica":
            return self.lag_s
        values = [r.replay_lag_s for r in self.replicas if r.replay_lag_s is not None]
        return max(values) if values else None


@dataclass(frozen=True, slots=True)
class PgSample:
    at: datetime
    status: str  # "up" or "down"
    error: Failure | None = None  # why the sample is down
    connections: Connections | None = None
    query_ms: float | None = None  # round trip of a trivial query on the monitoring connection
    connect_ms: float | None = None  # latest connect probe time, None if refused or not yet run
    probe_error: Failure | None = None  # latest connect probe refusal
    tps: float | None = None
    oldest_xact_s: float | None = None
    oldest_idle_xact_s: float | None = None
    longest_query: LongQuery | None = None
    blocked: tuple[BlockedBackend, ...] = field(default=())
    server_version: int | None = None
    waits: tuple[WaitCount, ...] = ()  # active sessions by what they wait on, most first
    idle_tx_apps: tuple[IdleTxApp, ...] = ()
    lock_roots: tuple[LockRoot, ...] = ()
    churn: Churn | None = None
    statements: tuple[Statement, ...] = ()  # top by database time in the last minute
    statements_note: str | None = None  # why there are none (not installed, not preloaded)
    server_started_at: datetime | None = None
    conf_loaded_at: datetime | None = None
    in_recovery: bool | None = None
    changes: tuple[ServerChange, ...] = ()  # what changed on the server since the last sample
    # "server" (pg_stat_activity) or "process_titles" (counted from the host's process list
    # while the server has no slot for us; then ``connections`` is set on a down sample)
    connections_source: str = "server"
    replication: Replication | None = None  # None until read (and on a down sample)
    replication_note: str | None = None  # why ``replication`` is None on an up sample
    # Seconds from this sample to the next: the interval asked for, or longer where a sample
    # costs the server more than its share (collectors/pace.py); with what it cost.
    every_s: float | None = None
    server_ms: float | None = None

    @property
    def up(self) -> bool:
        return self.status == "up"

    @property
    def role(self) -> str | None:
        """primary or replica, as the server says (None while it has not answered)."""
        if self.replication is not None:
            return self.replication.role
        if self.in_recovery is None:
            return None
        return "replica" if self.in_recovery else "primary"

    def to_json(self, findings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The ``warroom sample --json`` object, keys exactly as DESIGN.md lists them.

        ``findings`` (the engine's, as JSON), ``signals`` (everything issue 11 added: churn,
        waits, statements, server facts and changes), ``role`` and ``replication`` (issue 12)
        are the only keys beyond the original contract, so scripts written against it keep
        working.

        ``error`` is the reason the sample is down; when the server is up but the connect probe
        was refused, it carries that refusal instead, so a script sees storms without new keys.
        """
        error = self.error or self.probe_error
        conns = self.connections
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "status": self.status,
            "error": error.to_json() if error else None,
            "connections": None
            if conns is None
            else {
                "total": conns.total,
                # Both null when counted from process titles before we ever saw the limits.
                "max": conns.max,
                "saturation": None if conns.saturation is None else round(conns.saturation, 4),
                "by_state": dict(conns.by_state),
                "waiting": conns.waiting,
                "by_application": [
                    {"name": c.name, "count": c.count} for c in conns.by_application
                ],
                "source": self.connections_source,
                "by_user": counts_json(conns.by_user),
                "by_client": counts_json(conns.by_client),
                "by_group": [g.to_json() for g in conns.by_group],
                # pg_stat_activity's grouping does not split by database; the titles' does.
                **(
                    {"by_database": counts_json(conns.by_database)}
                    if self.connections_source == "process_titles"
                    else {}
                ),
            },
            "latency_ms": {
                "query": _ms(self.query_ms),
                "connect": _ms(self.connect_ms),
            },
            "tps": None if self.tps is None else round(self.tps, 2),
            "findings": list(findings or []),
            "signals": self._signals_json(),
            "role": self.role,
            "replication": None if self.replication is None else self.replication.to_json(),
        }

    def _signals_json(self) -> dict[str, Any]:
        """The keys issue 11 added; the original ones above stay exactly as they were."""
        churn = self.churn
        out: dict[str, Any] = {
            "oldest_xact_s": _s(self.oldest_xact_s),
            "longest_query": None
            if self.longest_query is None
            else {
                "pid": self.longest_query.pid,
                "age_s": _s(self.longest_query.age_s),
                "application": one_line(self.longest_query.application, 64),
                "state": self.longest_query.state,
                "query": one_line(self.longest_query.query, 200),
            },
            "waits": [{"type": w.type, "event": w.event, "count": w.count} for w in self.waits],
            "churn": None
            if churn is None
            else {
                "new_per_s": None if churn.new_per_s is None else round(churn.new_per_s, 2),
                "new": churn.new_sessions,
                "abandoned": churn.abandoned,
                "fatal": churn.fatal,
                "killed": churn.killed,
                "interval_s": round(churn.interval_s, 3),
                "source": churn.source,
                "new_by_application": counts_json(churn.new_by_application),
                "came_and_went": churn.came_and_went,
                "came_and_went_per_s": None
                if churn.came_and_went_per_s is None
                else round(churn.came_and_went_per_s, 2),
                "new_by_group": [g.to_json() for g in churn.new_by_group],
            },
            "statements": [
                {
                    "queryid": st.queryid,
                    "text": st.text,
                    "total_ms": round(st.total_ms, 3),
                    "calls": st.calls,
                    "mean_ms": round(st.mean_ms, 3),
                    "share": round(st.share, 4),
                    "window_s": round(st.window_s, 1),
                }
                for st in self.statements
            ],
            "server": None
            if self.server_started_at is None
            else {
                "version": self.server_version,
                "started_at": _iso(self.server_started_at),
                "conf_loaded_at": _iso(self.conf_loaded_at),
                "in_recovery": self.in_recovery,
            },
            "changes": [
                {
                    "kind": c.kind,
                    "at": _iso(c.at),
                    "text": c.text,
                    "downtime_s": _s(c.downtime_s),
                    "settings": [
                        {"name": sc.name, "old": sc.old, "new": sc.new,
                         "pending_restart": sc.pending_restart}
                        for sc in c.settings
                    ],
                }
                for c in self.changes
            ],
        }  # fmt: skip
        return out


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _s(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _ms(value: float | None) -> float | None:
    """To the thousandth: latencies in ms, and lags in s (a healthy standby's is a fraction)."""
    return None if value is None else round(value, 3)
