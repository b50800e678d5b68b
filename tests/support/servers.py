"""Sessions that watch several servers (issue 12), and a single-server one for the golden draft.

The three-server session is what the dashboard writes: one rollup per server per 10 s window,
the same ``at`` for all three, appended through the Store one window at a time. Its story:
the primary saturates and refuses connections; replica-1 falls 48 MB behind and has replay
paused for a while; the third server (a replica) goes down, comes back and is promoted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.sessions.model import (
    Incident,
    Kind,
    SampleRollup,
    Server,
    Source,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.store import Store, load

MB = 1024 * 1024
WINDOWS = 180  # 30 minutes of 10 s windows
GOLDEN_START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def single_server_incident(start: datetime = GOLDEN_START) -> Incident:
    """One server, schema-2 rollups with refusals, partial and down windows (server None)."""
    incident = Incident.create(
        "orders DB refusing connections", start, severity="SEV1",
        target=Target(dsn="host=db1 dbname=orders user=monitor"),
    )  # fmt: skip
    for i in range(60):
        at = start + timedelta(seconds=10 * i)
        if 30 <= i < 34:
            incident.samples.append(SampleRollup(at=at, samples=10, status="down",
                                                 down_kind="unreachable"))
            continue
        conn = min(97, 20 + i * 3)
        saturated = conn >= 97
        incident.samples.append(SampleRollup(
            at=at, samples=10, status="partial" if i == 40 else "up", conn_min=conn - 2,
            conn_mean=conn - 1.0, conn_max=conn, conn_last=conn, max_connections=100, usable=97,
            query_p50_ms=2.0 + i / 10, query_p95_ms=4.0 + i, query_max_ms=6.0 + i * 2,
            connect_max_ms=12.0 + i, refused=3 if saturated else 0,
            refused_by=(("too_many_connections", 3),) if saturated else (),
        ))  # fmt: skip
    incident.timeline.append(TimelineEntry(
        at=start + timedelta(minutes=2), text="pager: checkout errors", kind=Kind.DETECTION,
        author="ana", source=Source.CLI, id="00000001"))  # fmt: skip
    incident.detected_at = start + timedelta(minutes=2)
    return incident


# -- three servers -----------------------------------------------------------------------------


def _primary(at: datetime, i: int, standby_lag: tuple[int | None, float | None]) -> SampleRollup:
    m = i / 6  # minutes in
    conn = 20 + int(m * 6) if m < 10 else 97 if m < 16 else max(20, 97 - int((m - 16) * 20))
    saturated = conn >= 97
    p95 = 3.0 + conn * 0.5 + (600.0 if saturated else 0.0)
    return SampleRollup(
        at=at, samples=10, conn_min=conn - 2, conn_mean=conn - 1.0, conn_max=conn,
        conn_last=conn, max_connections=100, usable=97, query_p50_ms=p95 / 3,
        query_p95_ms=round(p95, 1), query_max_ms=round(p95 * 1.4, 1), connect_ms=9.0,
        refused=4 if saturated else 0,
        refused_by=(("too_many_connections", 4),) if saturated else (),
        server="primary", role="primary", lag_bytes=standby_lag[0], lag_s=standby_lag[1],
    )  # fmt: skip


def _replica_1(at: datetime, i: int) -> SampleRollup:
    m = i / 6
    # Falls behind from minute 12, replay paused from 14 to 16, caught up by minute 20.
    if 12 <= m < 18:
        lag_b = int((m - 12) * 8 * MB)
        lag_s = round((m - 12) * 30, 1)
    elif 18 <= m < 20:
        lag_b = int((20 - m) * 24 * MB)
        lag_s = round((20 - m) * 90, 1)
    else:
        lag_b, lag_s = 4096, 0.0
    state = "paused" if 14 <= m < 16 else "streaming"
    return SampleRollup(
        at=at, samples=10, conn_min=8, conn_mean=9.0, conn_max=10, conn_last=9,
        max_connections=100, usable=97, query_p50_ms=1.0, query_p95_ms=2.5, query_max_ms=4.0,
        server="replica-1", role="replica", lag_bytes=lag_b, lag_s=lag_s, repl_state=state,
    )  # fmt: skip


def _replica_2(at: datetime, i: int, name: str) -> SampleRollup:
    m = i / 6
    if 20 <= m < 23:  # down for three minutes
        return SampleRollup(at=at, samples=10, status="down", down_kind="unreachable",
                            server=name)
    promoted = m >= 25
    return SampleRollup(
        at=at, samples=10, conn_min=4, conn_mean=5.0, conn_max=30 if promoted else 6,
        conn_last=30 if promoted else 5, max_connections=50, usable=47, query_p50_ms=1.2,
        query_p95_ms=3.1, query_max_ms=5.0, server=name,
        role="primary" if promoted else "replica",
        lag_bytes=None if promoted else 8192, lag_s=None if promoted else 0.0,
        repl_state=None if promoted else "streaming",
    )  # fmt: skip


def three_server_windows(
    start: datetime, third: str = "replica-2", windows: int = WINDOWS
) -> list[list[SampleRollup]]:
    """Per 10 s window, the three rollups the dashboard appends together (watch order)."""
    out: list[list[SampleRollup]] = []
    for i in range(windows):
        at = start + timedelta(seconds=10 * i)
        replica = _replica_1(at, i)
        out.append([_primary(at, i, (replica.lag_bytes, replica.lag_s)), replica,
                    _replica_2(at, i, third)])  # fmt: skip
    return out


def three_server_header(start: datetime, third: str = "replica-2") -> Incident:
    servers = (
        Server("primary", "host=db1 dbname=orders user=monitor password=s3cret"),
        Server("replica-1", "host=db2 dbname=orders user=monitor"),
        Server(third, "host=db3 dbname=orders user=monitor", "host=db3 port=6432"),
    )
    incident = Incident.create(
        "orders cluster: primary saturated, replica behind", start, severity="SEV1",
        target=Target(servers[0].dsn, "", servers),
    )
    incident.timeline.append(TimelineEntry(
        at=start + timedelta(minutes=14, seconds=20),
        text="[replica-1] replication lag 48 MB behind (threshold 16 MB)", kind=Kind.ALERT,
        source=Source.AUTO, id="00000002"))  # fmt: skip
    return incident


def write_three_servers(
    path: Path, start: datetime = GOLDEN_START, third: str = "replica-2",
    windows: int = WINDOWS, resolved: bool = True,
) -> Incident:
    """The session file as the dashboard leaves it; returns the incident loaded back from it."""
    incident = three_server_header(start, third)
    if resolved:
        incident.status_change(Status.RESOLVED, start + timedelta(seconds=10 * windows))
    store = Store.create(path, incident)
    for window in three_server_windows(start, third, windows):
        store.append_samples(window)
    return load(path).incident
