"""What the one-shot commands do with a shared session: where, who, publish once, join.

A command writes locally first (the Store's fsync is the acknowledgement), and only then tries
the ops database, once, with short timeouts. When that fails the events stay in the journal and
the caller prints a warning; the next writer on this host publishes them.
"""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom import dsn as dsn_text
from warroom.sessions.paths import list_sessions, new_session_path, sessions_dir
from warroom.sessions.share import events as ev
from warroom.sessions.share import opsdb
from warroom.sessions.share.merge import fold
from warroom.sessions.share.outbox import (
    DERIVED,
    REMOTE,
    Journal,
    Line,
    Outbox,
    derived_event,
    side_path,
    warn,
)
from warroom.sessions.share.publish import Busy, publish_pending
from warroom.sessions.store import SessionError, Store

if TYPE_CHECKING:
    import psycopg

    from warroom.sessions.share.sharer import Sharer

ENV_DSN = "WARROOM_SHARE"
ENV_HOST = "WARROOM_HOST"
# `warroom sessions` publishes what this host's sessions have pending within this many seconds
# (each round trip is bounded by opsdb's deadlines too); the rest waits for the next command.
PUBLISH_BUDGET_S = 10.0
PUBLISH_LOCK_WAIT_S = 0.5  # another warroom of this host publishing it: it sends ours too


def host_name() -> str:
    """This host as other responders see it: ``$WARROOM_HOST``, else the host name."""
    return os.environ.get(ENV_HOST) or socket.gethostname()


def qualified(author: str) -> str:
    """``author@host``: in a shared incident every entry says where it was written."""
    return author if "@" in author else f"{author}@{host_name()}"


def without_password(dsn: str) -> str:
    """The DSN as the session file keeps it (libpq finds the password in ~/.pgpass etc.);
    DsnError, before anything is written, if libpq cannot read it."""
    return dsn_text.without_password(dsn, opsdb.SHARE_DSN)


def configured_dsn(given: str | None) -> str | None:
    """``--share``, else ``$WARROOM_SHARE``, else ``[share] dsn`` of the config file."""
    if given:
        return given
    env = os.environ.get(ENV_DSN)
    if env:
        return env
    from warroom.config import ConfigError, read_config

    found = read_config()
    path, data = found.where, found.data
    share = data.get("share", {})
    dsn = share.get("dsn") if isinstance(share, dict) else None
    if dsn is not None and not isinstance(dsn, str):
        raise ConfigError(f"{path}: share.dsn: expected a string")
    return dsn or None


@dataclass(slots=True)
class Published:
    ok: bool
    message: str = ""


def try_publish(outbox: Outbox, dsn: str, author: str) -> Published:
    """One attempt to publish what is pending, bounded by the connect and query deadlines."""
    try:
        with opsdb.connect(dsn) as conn:
            publish_pending(outbox, conn)
            opsdb.heartbeat(conn, outbox.incident_id, outbox.host, author)
            # While connected, take in others' events too: a host with no dashboard running
            # still converges, one command at a time.
            try:
                _catch_up(conn, outbox)
            except SessionError as exc:
                warn(f"others' events not merged yet: {exc}")
        return Published(True)
    except Busy:
        return Published(True, "another warroom on this host is publishing it")
    except (opsdb.OpsError, OSError) as exc:
        return Published(False, " ".join(str(exc).split()))


def same_database(shared: str, dsn: str) -> bool:
    """Whether a session's stored share DSN (no password) names the ops database ``dsn`` does."""
    from psycopg import Error, conninfo

    if shared == without_password(dsn):
        return True
    try:
        a, b = conninfo.conninfo_to_dict(shared), conninfo.conninfo_to_dict(dsn)
    except Error:
        return False
    return opsdb.where(shared) == opsdb.where(dsn) and a.get("dbname") == b.get("dbname")


def publish_sessions(
    conn: psycopg.Connection[Any],
    dsn: str,
    directory: Path | None = None,
    budget: float = PUBLISH_BUDGET_S,
) -> list[str]:
    """Publish what this host's sessions shared through ``dsn``'s database have pending.

    For a command that is connected anyway (`warroom sessions`): each session's journal is sent
    in order, once (``publish_pending``), without opening the session itself, so a dashboard
    holding its lock delays nothing. Bounded by ``budget`` seconds overall. Returns one warning
    per incident left with events pending; an empty list when everything went.
    """
    end = time.monotonic() + budget
    problems: list[str] = []
    for item in list_sessions(directory):
        incident = item.incident
        if incident is None or not incident.share or not same_database(incident.share, dsn):
            continue
        journal = Journal(item.path, incident.id)
        left = len(journal.pending())
        if not left:
            continue
        if conn.closed or time.monotonic() >= end:
            problems.append(pending_warning(f"{left} events of {incident.id} are", dsn,
                                            "not reached in this run"))  # fmt: skip
            continue
        try:
            publish_pending(journal, conn, wait=PUBLISH_LOCK_WAIT_S)
        except Busy:
            continue  # another warroom of this host is sending them right now
        except (opsdb.OpsError, OSError) as exc:
            left = len(journal.pending())
            problems.append(pending_warning(f"{left} events of {incident.id} are", dsn,
                                            " ".join(str(exc).split())))  # fmt: skip
    return problems


def pending_warning(what: str, dsn: str, why: str) -> str:
    return f"{what} saved locally; will be shared when {opsdb.where(dsn)} is back ({why})"


def start_sharing(store: Store, dsn: str, host: str, author: str) -> Outbox:
    """Mark the session shared and journal its whole record as the first events."""
    stored = without_password(dsn)

    def mark(incident: Any) -> None:
        incident.share = stored

    store.update(mark)
    outbox = Outbox.attach(store, host, author)
    incident = store.incident
    made = [ev.make(incident.id, ev.CREATED, ev.header_data(incident), host, author)]
    made += ev.appended(incident.id, tuple(incident.timeline), host, author)
    made += ev.appended(incident.id, tuple(incident.action_items), host, author)
    outbox.journal_local(made)
    return outbox


def dashboard_sharer(
    store: Store, dsn: str | None, author: str, check: Future[str | None] | None = None
) -> Sharer | None:
    """A started Sharer for the dashboard's store (sharing it first if need be), or None.

    Warnings go to ``NAME.share.log`` beside the session: the dashboard owns the terminal.
    ``check``: the verdict on sharing into a watched server, still coming (Sharer waits).
    """
    import logging

    from warroom.sessions.share.sharer import Sharer

    dsn = dsn or store.incident.share or None
    if dsn is None:
        return None
    host = host_name()
    outbox = None
    if not store.incident.share:
        outbox = start_sharing(store, dsn, host, author)
    log_path = side_path(store.path, "log")
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    os.close(fd)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s warning: %(message)s"))
    log = logging.getLogger("warroom.share")
    log.handlers = [handler]
    log.propagate = False
    return Sharer(store, dsn, host=host, author=author, outbox=outbox, check=check,
                  unshare=outbox is not None).start()  # fmt: skip


def refuse_if_taken(dsn: str, incident_id: str) -> None:
    """`new --share` must not reuse another incident's id; unreachable is not an error here."""
    try:
        with opsdb.connect(dsn) as conn:
            opsdb.require_schema(conn, dsn)
            taken = opsdb.exists(conn, incident_id)
    except opsdb.Unreachable:
        return
    if taken:
        raise opsdb.OpsError(
            f"incident {incident_id} is already shared on {opsdb.where(dsn)}; "
            f"`warroom join {incident_id}` makes a local copy"
        )


def local_copy(incident_id: str, directory: Path | None = None) -> Path | None:
    for item in list_sessions(directory):
        if item.incident is not None and item.incident.id == incident_id and item.incident.share:
            return item.path
    return None


def join(incident_id: str, dsn: str, host: str, author: str) -> Path:
    """Make (or catch up) the local copy of a shared incident; returns its path."""
    existing = local_copy(incident_id)
    with opsdb.connect(dsn) as conn:
        opsdb.require_schema(conn, dsn)
        if existing is not None:
            store = Store.open(existing, lazy=True)  # catching up never reads the rollups
            outbox = Outbox.attach(store, host, author)
            _catch_up(conn, outbox)
            publish_pending(outbox, conn)
            opsdb.heartbeat(conn, incident_id, host, author)
            return existing
        rows: list[tuple[int, Any]] = []
        while True:
            got = opsdb.fetch(conn, incident_id, rows[-1][0] if rows else 0, limit=5000)
            rows += got
            if len(got) < 5000:
                break
        good: list[tuple[int, ev.Event]] = []
        for seq, raw in rows:
            try:
                good.append((seq, ev.parse_event(raw, incident_id)))
            except ev.BadEvent as exc:
                warn(f"skipped an event (seq {seq}) of {incident_id}: {exc}")
        created = next((e for _, e in good if e.kind == ev.CREATED), None)
        if created is None:
            raise opsdb.OpsError(f"no shared incident {incident_id} on {opsdb.where(dsn)}")
        incident, merger = fold(created, [e for _, e in good], warn)
        incident.share = without_password(dsn)
        path = new_session_path(incident.id, sessions_dir())
        store = Store.create(path, incident)
        outbox = Outbox(store, host, author, None)
        lines = [Line(REMOTE, seq, False, e.to_json()) for seq, e in good]
        by_id = {entry.id: entry for entry in incident.timeline}
        lines += [
            Line(DERIVED, None, False, derived_event(incident, by_id[ident], name))
            for name, ids in merger.derived.items()
            for ident in sorted(ids)
            if ident in by_id
        ]
        with store.hold():
            outbox._append(lines)
        if rows:
            outbox.set_applied_seq(rows[-1][0])
        opsdb.heartbeat(conn, incident_id, host, author)
        return path


def _catch_up(conn: psycopg.Connection[Any], outbox: Outbox) -> None:
    while True:
        rows = opsdb.fetch(conn, outbox.incident_id, outbox.applied_seq())
        outbox.apply_remote(rows)
        if len(rows) < 2000:
            return


__all__ = [
    "Published", "SessionError", "configured_dsn", "host_name", "join", "local_copy",
    "pending_warning", "publish_sessions", "refuse_if_taken", "same_database", "start_sharing",
    "try_publish", "without_password",
]  # fmt: skip
