"""Where the history's incidents come from: the sessions directory, and an ops database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from warroom.sessions.history.read import Summary, of_incident, read_summary
from warroom.sessions.paths import SUFFIX, sessions_dir
from warroom.sessions.store import SessionError


def local(directory: Path | None = None) -> tuple[list[Summary], list[str]]:
    """Every session file of the directory, and a line for each one that could not be read
    (a broken file is reported, never the end of the history)."""
    directory = directory or sessions_dir()
    if not directory.is_dir():
        return [], []
    found: list[Summary] = []
    problems: list[str] = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        if not path.is_file():
            continue
        try:
            found.append(read_summary(path))
        except SessionError as exc:
            problems.append(str(exc))
    return found, problems


def shared(dsn: str, known: set[str], warn: Callable[[str], None]) -> list[Summary]:
    """The incidents shared on the ops database at ``dsn`` whose ids are not in ``known``
    (this host's copies are read from their files), each folded from its events as `warroom
    join` folds them, without writing anything. OpsError when the database cannot be used."""
    # Here, not at the top: sessions/ loads no database driver until it is asked to connect.
    from warroom.sessions.share import events as ev
    from warroom.sessions.share import opsdb
    from warroom.sessions.share.merge import fold

    where = opsdb.where(dsn)
    found: list[Summary] = []
    with opsdb.connect(dsn) as conn:
        opsdb.require_schema(conn, dsn)
        for listed in opsdb.list_incidents(conn):
            if listed.id in known:
                continue
            rows: list[tuple[int, object]] = []
            while True:
                got = opsdb.fetch(conn, listed.id, rows[-1][0] if rows else 0, limit=5000)
                rows += got
                if len(got) < 5000:
                    break
            events = []
            for seq, raw in rows:
                try:
                    events.append(ev.parse_event(raw, listed.id))
                except ev.BadEvent as exc:
                    warn(f"skipped an event (seq {seq}) of {listed.id}: {exc}")
            created = next((e for e in events if e.kind == ev.CREATED), None)
            if created is None:
                warn(f"shared incident {listed.id} on {where} has no creation event; left out")
                continue
            incident, _ = fold(created, events, warn)
            found.append(of_incident(incident, f"{where} (shared)"))
    return found
