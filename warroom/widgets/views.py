"""Plain views the panes draw: built by the live state, which must not import Textual.

Frozen dataclasses of what is shown, nothing else; the widgets that draw them import these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a view names the series it charts; drawing it needs only its columns
    from warroom.collectors.series import Chart


@dataclass(frozen=True, slots=True)
class ConnectionsView:
    """Plain data for the pane; the app builds it from the latest sample."""

    total: int | None
    usable: int | None
    max: int | None
    by_state: tuple[tuple[str, int], ...]
    waiting: int
    top: tuple[tuple[str, int], ...]  # (application, connections), biggest first
    level: str  # ok, warning, critical, down
    banner: str  # "" when live; "DOWN unreachable 12s" or "stale 4s" otherwise
    chart: Chart | None = None  # connections over the last ten minutes
    probe_refused: int = 0  # warroom's connect probes refused in the last minute
    # Connections the server refused in the last minute (all clients, from its log); None while
    # the log is not read, with ``server_log_note`` saying why ("" before the first read).
    server_refused: int | None = None
    server_log_note: str = ""


@dataclass(frozen=True, slots=True)
class LatencyView:
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    connect_ms: float | None
    refused: int  # connect probe refusals in the window
    probe_error: str  # "" or e.g. "too_many_connections 53300"
    level: str
    chart: Chart | None = None  # query round trip (ms) over the last ten minutes


@dataclass(frozen=True, slots=True)
class HostView:
    cpu_percent: float | None
    mem_percent: float | None
    swap_percent: float | None
    load: tuple[float, float, float] | None
    tcp: tuple[tuple[str, int], ...]  # TCP connections to the DB port by state


@dataclass(frozen=True, slots=True)
class PoolRow:
    name: str  # database/user
    cl_active: int
    cl_waiting: int
    sv_active: int
    sv_idle: int
    maxwait_s: float


@dataclass(frozen=True, slots=True)
class BouncerView:
    pools: tuple[PoolRow, ...]
    banner: str  # "" when live, else why not


@dataclass(frozen=True, slots=True)
class HeaderView:
    incident_id: str
    title: str
    severity: str
    status: str
    clock: str  # "T+01:02:03"; stops at resolution
    wall: str  # "09:12:33 UTC"
    notes: tuple[tuple[str, str], ...] = ()  # (text, level): "record: 3 pending", "REPLAY ▶ x4"


@dataclass(frozen=True, slots=True)
class FindingsView:
    items: tuple[tuple[str, str], ...]  # (severity, text), ranked
    source_note: str = ""  # e.g. "counts from process titles": how the panes got their data
    oldest_xact_s: float | None = None  # the oldest open transaction, shown after the findings
    longest_query_s: float | None = None  # the longest running active query


@dataclass(frozen=True, slots=True)
class ServerRow:
    """One watched server on the strip: enough to tell which one is in trouble."""

    name: str
    role: str | None  # primary, replica, None while unknown
    used: int | None
    usable: int | None
    p95_ms: float | None
    refused: int  # refused connect probes in the last minute
    lag_bytes: int | None  # own lag on a replica, worst standby's on a primary
    lag_s: float | None
    replay_paused: bool
    standbys: int | None  # a primary's connected standbys
    state: str  # "up", "DOWN 2m", "stale 12s"
    level: str  # ok, warning, critical, down


@dataclass(frozen=True, slots=True)
class ServersView:
    rows: tuple[ServerRow, ...]
    selected: int


@dataclass(frozen=True, slots=True)
class ReplicationView:
    """The selected server's replication detail: its standbys and slots, or its upstream."""

    role: str | None
    lines: tuple[tuple[str, str], ...]  # (text, level)
