"""Reading the recorder for replay: which store holds a session's frames, the backends at a
moment, the store's history as an in-memory record, and an incident started at a moment.

No Textual here (the dashboard's pieces are in tui/backends_recorded.py and tui/browse.py).
A read opens the store, reads and closes it: it runs on a worker thread, and SQLite connections
belong to the thread that made them (a thread worker is a new thread each time). Opening costs
well under a millisecond next to the seek itself (bench_recorder.py: p95 27 ms over 48 h).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.collectors.backends import Backend
from warroom.collectors.bouncer_sample import BouncerSample, PoolStats
from warroom.collectors.sample import Failure, FailureKind
from warroom.errors import UserError
from warroom.recording.export import frames_path, server_names
from warroom.recording.frame import BackendRow, Frame
from warroom.recording.store import StoreError
from warroom.recording.store_api import READ_ERRORS, StoreSpec, describe, open_store
from warroom.sanitize import one_line
from warroom.sessions.model import Incident, Target
from warroom.sessions.rollups import LazyRollups
from warroom.sessions.share.opsdb import OpsError

# A frame older than this before the moment asked about is not "the backends then": the
# recorder was not running (or not reaching the server) in between.
STALE_S = 30.0


class BrowseError(UserError):
    """The store cannot be browsed as asked; one line."""


@dataclass(frozen=True, slots=True)
class Moment:
    """What a frame says about one moment: when it was taken and the backends then."""

    asked: datetime
    frame: Frame | None  # None: nothing recorded at or before ``asked``

    @property
    def stale(self) -> bool:
        return self.frame is not None and (self.asked - self.frame.at).total_seconds() > STALE_S

    @property
    def backends(self) -> list[Backend] | None:
        """The frame's backends as the backends view lists them; None when not known."""
        if self.frame is None or self.frame.backends is None or self.stale:
            return None
        at = self.frame.at
        return [backend_of(row, at) for row in self.frame.backends]


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _since(at: datetime, epoch: float | None) -> float | None:
    return None if epoch is None else max(0.0, at.timestamp() - epoch)


def backend_of(row: BackendRow, at: datetime) -> Backend:
    """A recorded row as the view's ``Backend``, its ages as they were at the frame's time.
    The time in the current state is not recorded (state_change is not kept)."""
    return Backend(
        pid=row.pid, application=row.application, user=row.user, client=row.client,
        state=row.state, xact_s=_since(at, row.xact_start), query_s=_since(at, row.query_start),
        state_s=None, wait_type=row.wait_type, wait_event=row.wait_event,
        blocked_by=row.blocked_by, query=row.query, backend_start=_utc(row.backend_start),
        database=row.database, client_port=row.client_port, xact_start=_utc(row.xact_start),
        query_start=_utc(row.query_start), query_truncated=row.query_truncated,
    )  # fmt: skip


def pools_of(frame: Frame) -> BouncerSample | None:
    """The frame's PgBouncer figures (its ``pgbouncer`` object) as the pane's sample; None when
    it has none or they do not read."""
    body = frame.figures.get("pgbouncer")
    if not isinstance(body, dict):
        return None
    try:
        error = body.get("error")
        failure = None if not isinstance(error, dict) else Failure(
            _kind(error.get("kind")), str(error.get("message") or ""), error.get("sqlstate"))
        pools = tuple(
            PoolStats(database=str(p["database"]), user=str(p["user"]),
                      cl_active=int(p["cl_active"]), cl_waiting=int(p["cl_waiting"]),
                      sv_active=int(p["sv_active"]), sv_idle=int(p["sv_idle"]),
                      maxwait_s=float(p["maxwait_s"]), avg_query_ms=p.get("avg_query_ms"),
                      avg_wait_ms=p.get("avg_wait_ms"))
            for p in body.get("pools") or ()
        )  # fmt: skip
        return BouncerSample(frame.at, str(body.get("status") or "up"), failure, pools)
    except (KeyError, TypeError, ValueError):
        return None


def _kind(value: object) -> FailureKind:
    try:
        return FailureKind(str(value))
    except ValueError:
        return FailureKind.OTHER


class FrameReader:
    """One store file, read from any thread (a connection per read)."""

    def __init__(self, path: StoreSpec) -> None:
        self.path = path

    def moment(self, server: str, at: datetime) -> Moment:
        """The frame in force at ``at``. Raises StoreError or sqlite3.Error when unreadable."""
        try:
            with open_store(self.path, readonly=True) as store:
                return Moment(at, store.state_at(server, at))
        except OpsError as exc:  # an ops database that does not answer: as a store unreadable
            raise StoreError(str(exc)) from None

    def pools(self, server: str, at: datetime) -> BouncerSample | None:
        """The PgBouncer pools of the frame at ``at`` (None: none recorded near it)."""
        found = self.moment(server, at)
        if found.frame is None or found.stale:
            return None
        return pools_of(found.frame)

    def servers(self) -> list[str]:
        """The servers the store keeps ([] when it cannot be read)."""
        try:
            with open_store(self.path, readonly=True) as store:
                return store.servers()
        except READ_ERRORS:
            return []

    def keeps_pools(self, server: str) -> bool:
        """Whether the newest frame of ``server`` has PgBouncer figures (the pane is shown)."""
        try:
            with open_store(self.path, readonly=True) as store:
                span = store.span(server)
                frame = store.state_at(server, span[1]) if span is not None else None
        except READ_ERRORS:
            return False
        return frame is not None and isinstance(frame.figures.get("pgbouncer"), dict)


# -- which store a replay reads -----------------------------------------------------------------


def _span_overlaps(path: StoreSpec, incident: Incident, since: datetime, until: datetime
                   ) -> bool:  # fmt: skip
    try:
        with open_store(path, readonly=True) as store:
            for name in server_names(incident, store.servers()):
                span = store.span(name)
                if span is not None and span[0] <= until and span[1] >= since:
                    return True
    except READ_ERRORS:
        return False
    return False


def frames_for(session: Path, incident: Incident, host_store: StoreSpec | None
               ) -> StoreSpec | None:  # fmt: skip
    """Where a replay of ``session`` finds its frames: ``NAME.frames.sqlite`` beside it, else
    this host's recorder store when it kept the session's servers during its span."""
    beside = frames_path(session)
    if beside.is_file():
        return beside
    if host_store is None or (isinstance(host_store, Path) and not host_store.is_file()):
        return None
    until = incident.resolved_at or max(
        [incident.started_at, *(e.at for e in incident.timeline)]
    )
    if _span_overlaps(host_store, incident, incident.started_at, until):
        return host_store
    return None


# -- the recorder's history with no incident ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class History:
    """One server's history in a store, as replay reads a record."""

    store: StoreSpec
    server: str
    first: datetime
    last: datetime
    incident: Incident  # in memory only: the rollups as undecoded blocks, nothing written


def open_history(store: StoreSpec, target: str | None, target_dsn: str = "") -> History:
    """The history of ``target`` (the store's only server when None). ``target_dsn``: the
    config's DSN for that name, so an incident started from it watches the same server."""
    try:
        reader = open_store(store, readonly=True)
    except READ_ERRORS as exc:
        raise BrowseError(str(exc)) from None
    with reader:
        servers = reader.servers()
        if target is None:
            if len(servers) != 1:
                known = ", ".join(servers) or "none yet"
                raise BrowseError(f"{describe(store)}: keeps {len(servers)} servers ({known}): "
                                  "choose one with --target NAME")  # fmt: skip
            target = servers[0]
        span = reader.span(target)
        if span is None:
            raise BrowseError(f"{describe(store)}: no frames of {target!r} "
                              f"(kept: {', '.join(servers) or 'none yet'})")  # fmt: skip
        first, last = span
        bodies = [body for _, body in reader.rollups(target, first - timedelta(minutes=1),
                                                     last + timedelta(seconds=1))]  # fmt: skip
    incident = Incident.create(f"recorder: {one_line(target, 80)}", first,
                               target=Target(dsn=target_dsn or dsn_of(target)))  # fmt: skip
    # Undecoded, as a lazy load leaves a file's: replay decodes the cursor's window first.
    incident.samples = LazyRollups.of_blocks(b.encode() for b in bodies)
    # The record's span is the frames' (the last rollup closes up to 10 s before the newest
    # frame): the cursor reaches the newest moment.
    incident.resolved_at = last
    return History(store, target, first, last, incident)


def dsn_of(name: str) -> str:
    """A DSN for a store's ``host:port`` name (the recorder's name for a --dsn server)."""
    host, sep, port = name.rpartition(":")
    if not sep or not port.isdigit() or not host or any(c.isspace() for c in host):
        return ""
    return f"host={host} port={port}"


def moment_in(history: History, text: str | None) -> datetime:
    """``--at``: a clock time is the newest such moment in the history (last night's 03:10);
    an ISO time as given. Outside what the store keeps is an error."""
    from warroom.sessions.times import parse_clock, parse_time

    if text is None:
        return history.last
    at = parse_clock(text, history.last)
    if at is not None and at > history.last:
        at -= timedelta(days=1)
    at = at or parse_time(text)
    if history.first - timedelta(seconds=1) < at < history.first:
        at = history.first  # the first frame's second, given to the second
    if not history.first <= at <= history.last:
        raise BrowseError(f"--at {text.strip()}: outside what the store keeps of "
                          f"{history.server} ({history.first:%Y-%m-%d %H:%M:%S} to "
                          f"{history.last:%Y-%m-%d %H:%M:%S} UTC)")  # fmt: skip
    return at


def start_incident(history: History, at: datetime, lead_s: float, directory: Path | None = None
                   ) -> Path:  # fmt: skip
    """A new incident whose impact started at ``at``, the store's lead-up before it attached
    (marked ``source = "recorder"``); its path. Disk work: call it off the UI thread."""
    import dataclasses

    from warroom.collectors.dsn import default_title
    from warroom.notify import hooks as notify
    from warroom.recording.leadup import lead_up_from
    from warroom.sessions.paths import new_session_path
    from warroom.sessions.store import Store

    target = history.incident.target
    # As `watch` names a new incident: the impact start is in its id and the record.
    title = (default_title(target.dsn) if target.dsn
             else f"PostgreSQL incident on {one_line(history.server, 80)}")  # fmt: skip
    incident = Incident.create(title, at, target=target)
    store = Store.create(new_session_path(incident.id, directory), incident)
    # One server: its rollups stay unnamed in the record, as attach_lead_up keeps them.
    rollups = [dataclasses.replace(r, server=None)
               for r in lead_up_from(history.store, history.server, at, lead_s)]  # fmt: skip
    store.append_samples(rollups)
    notify.announce_opened(store)
    return store.path
