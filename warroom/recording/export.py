"""`warroom frames`: an incident's frames beside its record, as ``NAME.frames.sqlite``.

The span is the incident's: from ``lead`` before its impact start through its resolution (or
now). The copy has the recorder's schema and starts at a keyframe, so it opens anywhere (copied
to another host with the record). Written to a temporary name and renamed: an earlier copy is
replaced whole or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.collectors.dsn import server_name
from warroom.errors import UserError
from warroom.recording.retention import Retention
from warroom.recording.store import FrameStore, StoreError
from warroom.recording.store_api import READ_ERRORS, StoreSpec, describe, open_store
from warroom.sessions.model import Incident

SUFFIX = ".frames.sqlite"


class FramesError(UserError):
    """Nothing to save, or the store cannot be read; one line."""


class NoFrames(FramesError):
    """The store keeps no frames of the incident's servers in its span."""


def frames_path(session: Path) -> Path:
    return session.with_name(session.stem + SUFFIX)


def server_names(incident: Incident, kept: Collection[str] | None = None) -> list[str]:
    """The names the recorder keeps the incident's servers under.

    A record names a server as the dashboard did (a one-server session ``host:port`` of its
    DSN; several, their ``[[targets]]`` or ``host:port`` names); a recorder names it by its
    ``[[targets]]`` name when run with ``--target``, else ``host:port``. So with ``kept`` (the
    names a store keeps) a server whose own name is not kept is given the kept name of the same
    ``host:port``: directly, or through this host's ``[[targets]]``.
    """
    target = incident.target
    own = [(s.name, s.dsn) for s in target.servers] or [(server_name(target.dsn), target.dsn)]
    if kept is None:
        return [name for name, _ in own]
    kept = list(kept)
    addresses = _target_addresses() if any(name not in kept for name, _ in own) else {}
    out = []
    for name, dsn in own:
        address = server_name(dsn) if dsn else name
        same = [k for k in kept if k == address or addresses.get(k) == address]
        out.append(name if name in kept or not same else same[0])
    return out


def _target_addresses() -> dict[str, str]:
    """This host's ``[[targets]]``: name to ``host:port`` ({} when the config cannot be read)."""
    from warroom.targets import load_targets

    try:
        return {t.name: server_name(t.dsn) for t in load_targets()}
    except UserError:
        return {}


def save_frames(session: Path, store: StoreSpec, lead_s: float) -> tuple[Path, int]:
    from warroom.sessions.store import load_header

    incident = load_header(session)
    since = incident.started_at - timedelta(seconds=lead_s)
    until = incident.resolved_at or datetime.now(UTC)
    target = frames_path(session)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        source = open_store(store, readonly=True)
    except StoreError as exc:
        raise FramesError(str(exc)) from None
    except READ_ERRORS as exc:  # an ops database that does not answer
        raise FramesError(f"{describe(store)}: {exc}") from None
    count = 0
    try:
        with source, FrameStore(partial, retention=Retention(float("inf"), 2**62)) as copy:
            names = ", ".join(kept := server_names(incident, source.servers()))
            for name in kept:
                count += source.export(copy, name, since, until)
        if count == 0:
            raise NoFrames(f"{describe(store)}: no frames of {names} "
                              f"between {since:%Y-%m-%d %H:%M} and {until:%H:%M} UTC")  # fmt: skip
        os.replace(partial, target)
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
    return target, count
