"""The replication statement, per server version: one round trip, one JSON value.

What it reads and why is told in replication.py, which parses its answer.
"""

from __future__ import annotations

REPLICATION = "warroom_replication"  # the prepared statement's name


def replication_sql(server_version: int) -> str:
    """The statement for this server version (10 and later: the ``*_wal_*`` names, lag times).

    Version by version: ``MATERIALIZED`` needs 12 (before, every CTE is materialized anyway);
    ``sender_host``/``sender_port`` arrived in 11, ``wal_status`` in 13,
    ``pg_get_wal_replay_pause_state()`` in 14 (before it, ``pg_is_wal_replay_paused()`` says
    whether a pause was requested, which is what 14's "pause requested" also counts as here).
    """
    materialized = "MATERIALIZED " if server_version >= 120000 else ""
    wal_status = "wal_status" if server_version >= 130000 else "NULL::text"
    if server_version >= 140000:
        pause_state = "pg_get_wal_replay_pause_state()"
    else:
        pause_state = (
            "CASE WHEN pg_is_wal_replay_paused() THEN 'pause requested' ELSE 'not paused' END"
        )
    if server_version >= 110000:
        upstream = "sender_host, sender_port"
    else:
        upstream = "NULL::text, NULL::int"
    # Lag times are NULL once a standby has caught up and the primary went quiet ("no recent
    # measurement"): that is no lag, so it reads 0 when the positions say it has everything.
    lag_s = (
        "coalesce(extract(epoch FROM s.{col}_lag),"
        " CASE WHEN s.{col}_lsn >= w.lsn THEN 0 END)"
    )
    # No greatest(…, 0) in here: it skips NULLs, and a hidden or unknown position must stay
    # NULL, not read as "no lag". Clamping (clock skew, a replay ahead of the receiver's
    # restart point) is done on the parsed values.
    lag_bytes = "pg_wal_lsn_diff(w.lsn, s.{col}_lsn)::bigint"
    return f"""
WITH r AS {materialized}(
    SELECT pg_is_in_recovery() AS rec
), p AS {materialized}(
    SELECT rec,
           CASE WHEN rec THEN pg_last_wal_receive_lsn() END AS received,
           CASE WHEN rec THEN pg_last_wal_replay_lsn() END AS replayed,
           CASE WHEN rec THEN pg_last_xact_replay_timestamp() END AS replayed_at,
           CASE WHEN rec THEN {pause_state} END AS pause_state,
           CASE WHEN NOT rec THEN pg_current_wal_lsn() END AS current
    FROM r
), w AS (
    -- The position standbys and slots are measured against: the primary's WAL, or what a
    -- cascading replica has (it sends on what it received, even before replaying it).
    SELECT p.*, CASE WHEN rec THEN greatest(received, replayed) ELSE current END AS lsn FROM p
)
SELECT json_build_object(
  'in_recovery', w.rec,
  -- pg_stat_replication is these two functions joined, but with every backend's entry
  -- (pg_stat_get_activity(NULL)): 1.1 ms at 500 idle backends against 0.1 ms for only the
  -- senders' entries, and a connection storm is when warroom runs.
  'replicas', (SELECT coalesce(json_agg(json_build_array(
                   a.application_name,
                   CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr)
                        WHEN a.client_port = -1 THEN 'local' END,
                   s.state, s.sync_state,
                   {lag_bytes.format(col="sent")}, {lag_bytes.format(col="write")},
                   {lag_bytes.format(col="flush")}, {lag_bytes.format(col="replay")},
                   {lag_s.format(col="write")}, {lag_s.format(col="flush")},
                   {lag_s.format(col="replay")}, s.pid)
                 ORDER BY a.application_name, s.pid), '[]')
               FROM pg_stat_get_wal_senders() s
               JOIN LATERAL pg_stat_get_activity(s.pid) a ON true),
  'slots', (SELECT coalesce(json_agg(json_build_array(
                slot_name, slot_type, active,
                pg_wal_lsn_diff(w.lsn, restart_lsn)::bigint, {wal_status})
              ORDER BY slot_name), '[]')
            FROM pg_replication_slots),
  'received', w.received::text,
  'replayed', w.replayed::text,
  'lag_bytes', pg_wal_lsn_diff(w.received, w.replayed)::bigint,
  -- Replayed everything it received: not behind, however old the last transaction is (an
  -- idle primary sends nothing to replay). Otherwise, how old the last replayed one is
  -- (NULL when none was replayed since the replica started).
  'lag_s', CASE WHEN NOT w.rec THEN NULL
                WHEN w.received IS NOT NULL AND w.replayed >= w.received THEN 0
                ELSE extract(epoch FROM now() - w.replayed_at) END,
  'pause_state', w.pause_state,
  'receiver', (SELECT json_build_array(pid, status, {upstream}) FROM pg_stat_wal_receiver
               LIMIT 1)
) FROM w"""


def prepare_sql(server_version: int) -> str:
    return f"PREPARE {REPLICATION} AS {replication_sql(server_version)}"
