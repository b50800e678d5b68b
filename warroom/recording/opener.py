"""The incident `warroom record` opens itself (``[record] open_incident_on``), and finding it again.

At a server's first alert or finding of that level (``critical``, or ``warning`` and worse) the
recorder writes a session file in the sessions directory as `warroom new` would: titled from
the alert or finding, impact start at the condition's first breach (an alert's first raise at
any level; a finding's raise, as the findings engine does not say when its evidence began),
its target the recorder's server (no password), the recorder's rollups of the lead-up before
it and up to now, the breach on its timeline (an auto entry by ``AUTHOR``, which marks the
incident as the recorder's), and ``incident.opened`` plus the breach notified.

While that incident is unresolved, each later alert raise or clear and finding raise of the
same server lands on its timeline (and is notified) instead of opening another; once someone
resolves it, the next breach of the level opens a new one. After a restart the recorder finds
its open incident again in the sessions directory (``find_open``), and `warroom watch` with no
``--session`` resumes it (``to_resume``).

Runs on the recorder's writer thread: a session that cannot be written is one log line, and
the next breach tries again; the recording goes on either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom.errors import UserError
from warroom.sanitize import one_line
from warroom.sessions.model import (
    TITLE_MAX_CHARS,
    Incident,
    Kind,
    ModelError,
    Source,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.store.errors import SessionError

if TYPE_CHECKING:
    from warroom.rollup import SampleRollup
    from warroom.sessions.store import Store

AUTHOR = "warroom record"  # the author of its entries: what marks an incident as the recorder's
RANK = {"info": 0, "warning": 1, "critical": 2}
SEVERITY = {"critical": "SEV2", "warning": "SEV3"}  # `warroom new`'s default for a critical one

Log = Callable[[str], None]
Lead = Callable[[str, datetime, datetime], "list[SampleRollup]"]


@dataclass(frozen=True, slots=True)
class Breach:
    """One alert transition or finding raise of one server, as the recorder saw it."""

    server: str
    at: datetime
    since: datetime  # when the condition began: an alert's first raise at any level
    level: str  # critical, warning or info
    raised: bool  # False: an alert cleared
    kind: Kind  # ALERT or FINDING
    message: str
    event: Any  # the AlertEvent or FindingEvent, for the notification

    def notification(self, about: dict[str, Any]) -> dict[str, Any]:
        from warroom.notify import events

        if self.kind is Kind.FINDING:
            return events.finding(about, self.event)
        return events.alert(about, self.event)


def alert_breach(server: str, event: Any, since: datetime | None) -> Breach:
    raised = str(event.state.value) == "raised"
    return Breach(server, event.at, since or event.at, str(event.level.value), raised,
                  Kind.ALERT, event.message, event)  # fmt: skip


def finding_breach(server: str, event: Any) -> Breach:
    return Breach(server, event.at, event.at, str(event.finding.severity.value), True,
                  Kind.FINDING, event.message, event)  # fmt: skip


class IncidentOpener:
    """``servers``: each recorded server's name -> (DSN, PgBouncer DSN); ``lead(server, since,
    until)``: the recorder's rollups of that span."""

    def __init__(
        self,
        level: str,
        servers: Mapping[str, tuple[str, str]],
        lead: Lead,
        lead_s: float,
        log: Log,
        directory: Path | None = None,
    ) -> None:
        self.level = level
        self.servers = dict(servers)
        self.lead = lead
        self.lead_s = lead_s
        self.log = log
        self.directory = directory
        self._open: dict[str, Store] = {}
        self.opened: list[Path] = []

    def resume(self) -> None:
        """At start: each server's incident opened by an earlier run and still unresolved."""
        for server in self.servers:
            try:
                path = find_open(server, self.directory, self.servers[server][0])
                if path is not None:
                    self._open[server] = _watched(_open_store(path))
                    self.log(f"{server}: incident {path} is open: breaches go on its timeline")
            except (UserError, SessionError, OSError, ValueError) as exc:
                self.log(f"{server}: cannot read the sessions directory: {one_line(exc, 200)}")

    def feed(self, breaches: Sequence[Breach]) -> None:
        for breach in breaches:
            try:
                self._feed(breach)
            except (UserError, SessionError, OSError, ValueError) as exc:  # and ModelError
                self.log(f"{breach.server}: incident not written: {one_line(exc, 200)}")

    def _feed(self, breach: Breach) -> None:
        store = self._current(breach.server)
        if store is not None:
            self._land(store, breach)
        elif breach.raised and RANK.get(breach.level, 0) >= RANK[self.level]:
            self._open_new(breach)

    def _current(self, server: str) -> Store | None:
        """The server's open incident, unless someone resolved (or removed) it meanwhile."""
        store = self._open.get(server)
        if store is None:
            return None
        try:
            store.refresh()
        except SessionError:
            store = None  # gone or unreadable: a new breach opens a new one
        if store is None or store.incident.status is Status.RESOLVED:
            del self._open[server]
            return None
        return store

    def _land(self, store: Store, breach: Breach) -> None:
        if breach.kind is Kind.FINDING and not breach.raised:
            return  # as on the dashboard: a finding is logged once, when it raises
        store.append_entry(_entry(breach), detects=breach.raised)
        _notify(store, breach)

    def _open_new(self, breach: Breach) -> None:
        from warroom.notify import hooks
        from warroom.sessions.paths import new_session_path
        from warroom.sessions.store import Store

        dsn, pgbouncer = self.servers.get(breach.server, ("", ""))
        incident = Incident.create(title_of(breach), breach.since,
                                   severity=SEVERITY.get(breach.level, "SEV2"),
                                   target=target_of(dsn, pgbouncer))  # fmt: skip
        path = new_session_path(incident.id, self.directory)
        store = Store.create(path, incident)
        self._open[breach.server] = store
        self.opened.append(path)
        # Before and up to now: the charts of whoever resumes it start full.
        rollups = self.lead(breach.server, breach.since, breach.at)
        store.append_samples([dataclasses.replace(r, server=None) for r in rollups])
        store.append_entry(_entry(breach), detects=True)
        self.log(f"{breach.server}: opened incident {path} ({len(rollups)} rollups before it)")
        hooks.watch(store, opened=True)
        _notify(store, breach)


def title_of(breach: Breach) -> str:
    text = breach.message
    if breach.kind is Kind.ALERT:
        # "raised CRITICAL connection saturation ..." reads as a title without its verb.
        text = text.removeprefix(f"raised {breach.level.upper()} ")
    return one_line(f"{breach.server}: {text}", TITLE_MAX_CHARS)


def target_of(dsn: str, pgbouncer: str) -> Target:
    """As `watch` records one server (no password): a resume watches it again."""
    from warroom.dsn import without_password

    return Target(dsn=without_password(dsn), pgbouncer=without_password(pgbouncer))


def _entry(breach: Breach) -> TimelineEntry:
    return TimelineEntry(at=breach.at, text=breach.message, kind=breach.kind, author=AUTHOR,
                         source=Source.AUTO)  # fmt: skip


def _notify(store: Store, breach: Breach) -> None:
    from warroom.notify import events, publish

    publish(breach.notification(events.about(store.incident, store.path)))


def _open_store(path: Path) -> Store:
    from warroom.sessions.store import Store

    return Store.open(path, lazy=True)


def _watched(store: Store) -> Store:
    from warroom.notify import hooks

    return hooks.watch(store)


# -- finding it again -------------------------------------------------------------------------


def recorder_incidents(directory: Path | None = None) -> list[tuple[Path, Incident]]:
    """The unresolved incidents the recorder opened, newest impact start first."""
    from warroom.sessions.paths import list_sessions
    from warroom.sessions.store import load

    found: list[tuple[Path, Incident]] = []
    for item in list_sessions(directory):
        if item.incident is None or item.incident.status is Status.RESOLVED:
            continue
        try:
            incident = load(item.path, lazy=True, warn=False).incident
        except (SessionError, OSError, ModelError):
            continue  # `warroom sessions` and `check` name broken files
        if any(e.author == AUTHOR and e.source is Source.AUTO for e in incident.timeline):
            found.append((item.path, incident))
    return found


def _serves(incident: Incident, server: str) -> bool:
    from warroom.recording.export import server_names

    return server in server_names(incident, [server])


def find_open(server: str, directory: Path | None = None, dsn: str = "") -> Path | None:
    """The newest unresolved incident the recorder opened for ``server`` (a [[targets]] name
    is not in the record, which names the server by its DSN's host:port: ``dsn`` gives it)."""
    from warroom.collectors.dsn import server_name

    names = {server, server_name(dsn)} if dsn else {server}
    return next((p for p, inc in recorder_incidents(directory)
                 if any(_serves(inc, name) for name in names)), None)  # fmt: skip


def to_resume(servers: Sequence[str] = (), directory: Path | None = None) -> Path | None:
    """The session `warroom watch` resumes when given no ``--session``: the recorder's open
    incident. With one server named (``--dsn``/``--target``; ``servers`` are its names), its
    newest; with none, the only one (UserError when there are several: the user picks).
    """
    found = recorder_incidents(directory)
    if servers:
        return next((p for p, inc in found if any(_serves(inc, s) for s in servers)), None)
    if len(found) > 1:
        listed = ", ".join(str(p) for p, _ in found[:5])
        raise UserError(f"{len(found)} incidents opened by the recorder are unresolved ({listed}); "
                        "pass --session PATH, or --dsn/--target to open a new one")  # fmt: skip
    return found[0][0] if found else None


def for_watch(dsns: Sequence[str], pgbouncers: Sequence[str], names: Sequence[str]) -> Path | None:
    """`warroom watch` without ``--session`` (or ``--title``): with no server named, the
    recorder's open incident when there is exactly one; with one server named, its newest
    open one; else None (a new incident, as before)."""
    if not dsns and not names:
        return to_resume()
    from warroom.collectors.dsn import server_name
    from warroom.targets import choose

    servers = choose(dsns, pgbouncers, names)
    if len(servers) != 1:
        return None
    # A [[targets]] name, or host:port: the record names its server by the latter.
    return to_resume([servers[0].name, server_name(servers[0].dsn)])
