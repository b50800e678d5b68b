"""The lead-up: what the recorder saw before an incident's impact start, as the record's rollups.

A new incident on a server this host's recorder keeps takes the rollups of the ``span`` before
its start (30 minutes by default), marked ``source = "recorder"``, so its charts and draft start
before anyone arrived. Callers (``warroom new``/``watch``) use ``lead_up`` or ``lead_up_from``;
a missing or unreadable store is no lead-up, never an error for the incident.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.config import ConfigError
from warroom.recording.store_api import READ_ERRORS, FrameSource, StoreSpec, open_store
from warroom.rollup import SampleRollup
from warroom.sessions.model import Target
from warroom.sessions.toml_codec import decode_rollup

if TYPE_CHECKING:
    from warroom.sessions.store import Store

LEAD_S = 1800.0
SOURCE = "recorder"


def lead_up(
    store: FrameSource, server: str, start: datetime, span_s: float = LEAD_S
) -> list[SampleRollup]:
    """The rollups of ``server`` in the ``span_s`` seconds before ``start``, oldest first.

    Only windows that ended by ``start``: the incident's own rollups take over from there.
    """
    out: list[SampleRollup] = []
    for i, (_, body) in enumerate(store.rollups(server, start - timedelta(seconds=span_s), start)):
        (table,) = tomllib.loads(body)["samples"]
        rollup = decode_rollup(table, i)
        if rollup.end <= start:
            out.append(dataclasses.replace(rollup, source=SOURCE))
    return out


def lead_up_from(
    path: StoreSpec, server: str, start: datetime, span_s: float = LEAD_S
) -> list[SampleRollup]:
    """``lead_up`` from the store at ``path`` (a file or an ops database's DSN); [] when there
    is none or it cannot be read (the incident opens all the same)."""
    if isinstance(path, Path) and not path.is_file():
        return []
    try:
        with open_store(path, readonly=True) as store:
            return lead_up(store, server, start, span_s)
    except (*READ_ERRORS, ValueError):
        return []


def attach_lead_up(session: Store) -> int:
    """Appends the recorder's lead-up of each server the incident watches (the store and span
    of ``[record]``); how many rollups. Nothing when no recorder keeps them."""
    from warroom.config import read_config
    from warroom.recording.export import server_names
    from warroom.recording.settings import parse_record

    incident = session.incident
    if incident.target == Target():
        return 0  # no server yet (`warroom new`): `watch` attaches it when it learns one
    try:
        settings = parse_record(read_config())
    except ConfigError:
        return 0  # the incident opens all the same; `warroom record` reports the config
    path = settings.store_spec()
    if isinstance(path, Path) and not path.is_file():
        return 0
    rollups: list[SampleRollup] = []
    try:
        with open_store(path, readonly=True) as store:
            # The store may know a server by another name (its [[targets]] name, or host:port).
            kept = server_names(incident, store.servers())
            for own, name in zip(server_names(incident), kept, strict=True):
                found = lead_up(store, name, incident.started_at, settings.lead_up_s)
                # A one-server record keeps its rollups unnamed; several, by the record's names.
                rename = None if len(kept) == 1 else own
                rollups += [dataclasses.replace(r, server=rename) for r in found]
    except (*READ_ERRORS, ValueError):
        return 0
    rollups.sort(key=lambda r: r.at)
    session.append_samples(rollups)
    return len(rollups)
