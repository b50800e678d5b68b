"""Where a server stands in replication: parsing the answer of the one statement that asks.

The statement itself, per server version, is in pg_queries_replication.py.

One statement, one round trip, one JSON value: the server computes every lag itself
(``pg_wal_lsn_diff`` against its own WAL position), so no LSN arithmetic happens here and the
answer is a few hundred bytes whatever the number of standbys. The same statement serves both
roles: ``pg_is_in_recovery()`` picks the branch at run time (CASE evaluates lazily, and the
functions that fail outside or inside recovery are only reached in their own branch).

What each role reads:
- primary: ``pg_stat_replication``'s rows (one per WAL sender: its standby's state and lags;
  read from the view's own two functions, see the SQL),
  ``pg_replication_slots`` (an inactive slot keeps WAL until the disk fills);
- replica: received and replayed positions, the age of the last replayed transaction, whether
  replay is paused, and ``pg_stat_wal_receiver`` (is it streaming, from where). A cascading
  replica also lists its own standbys and slots, measured against what it has received.

Privileges: everything read here is open to PUBLIC by default, but without pg_monitor (or
pg_read_all_stats) the server blanks the details of other roles' WAL senders and of the WAL
receiver. Those show as None with a ``note`` saying why, never as a guess.
"""

from __future__ import annotations

import json
from typing import Any

# The statement's names, re-exported: bench/bench_replication.py asks replication for them.
from warroom.collectors.pg_queries_replication import REPLICATION as REPLICATION
from warroom.collectors.pg_queries_replication import prepare_sql as prepare_sql
from warroom.collectors.pg_queries_replication import replication_sql as replication_sql
from warroom.collectors.sample import ReplicaLink, Replication, Slot

NOTE_HIDDEN = (
    "details hidden from the monitoring role: GRANT pg_monitor (or pg_read_all_stats) to it"
)


def _int(v: Any) -> int | None:
    # Never below 0: a replica may have replayed past where its receiver restarted streaming.
    return None if v is None else max(int(v), 0)


def _float(v: Any) -> float | None:
    # Never below 0: now() on a replica minus a commit time stamped by the primary's clock.
    return None if v is None else max(float(v), 0.0)


def _link(row: list[Any]) -> tuple[ReplicaLink, bool]:
    """A standby, and whether the server hid its details from us."""
    app, client, state, sync, sent_b, write_b, flush_b, replay_b, write_s, flush_s, replay_s = (
        row[:11]
    )
    name = str(app or "") or (str(client) if client else f"pid {row[11]}")
    link = ReplicaLink(
        name=name,
        client=None if client is None else str(client),
        state=None if state is None else str(state),
        sync_state=None if sync is None else str(sync),
        sent_lag_bytes=_int(sent_b),
        replay_lag_bytes=_int(replay_b),
        write_lag_s=_float(write_s),
        flush_lag_s=_float(flush_s),
        replay_lag_s=_float(replay_s),
        write_lag_bytes=_int(write_b),
        flush_lag_bytes=_int(flush_b),
    )
    return link, state is None


def parse(text: str) -> Replication:
    d = json.loads(text)
    in_recovery = bool(d["in_recovery"])
    hidden = False
    replicas: list[ReplicaLink] = []
    for row in d.get("replicas") or ():
        link, blank = _link(row)
        replicas.append(link)
        hidden = hidden or blank
    slots = tuple(
        Slot(name=str(name), kind=str(kind), active=bool(active), retained_bytes=_int(kept),
             wal_status=None if status is None else str(status))
        for name, kind, active, kept, status in d.get("slots") or ()
    )  # fmt: skip
    if not in_recovery:
        return Replication(
            role="primary", replicas=tuple(replicas), slots=slots,
            note=NOTE_HIDDEN if hidden else None,
        )  # fmt: skip
    receiver = d.get("receiver")
    receiving: bool | None = False  # no WAL receiver process at all: not streaming
    upstream = None
    if receiver:
        _pid, status, host, port = receiver
        if status is None:
            receiving, hidden = None, True
        else:
            receiving = status == "streaming"
        if host:
            upstream = f"{host}:{port}" if port is not None else str(host)
    pause_state = d.get("pause_state")
    return Replication(
        role="replica",
        replicas=tuple(replicas),
        slots=slots,
        receive_lsn=d.get("received"),
        replay_lsn=d.get("replayed"),
        lag_bytes=_int(d.get("lag_bytes")),
        lag_s=_float(d.get("lag_s")),
        replay_paused=pause_state is not None and pause_state != "not paused",
        replay_pause_state=pause_state,
        upstream=upstream,
        receiving=receiving,
        note=NOTE_HIDDEN if hidden else None,
    )
