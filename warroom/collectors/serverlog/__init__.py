"""The PostgreSQL server's own log: what only the server knows, counted per window.

Counted kinds (``kinds.KINDS``): ``refused`` (53300: "sorry, too many clients already" and
"remaining connection slots are reserved for ..."), ``auth_failed`` (28P01, 28000),
``terminated`` (57P01, "terminating connection due to administrator command"),
``out_of_memory`` (53200), ``deadlock`` (40P01), ``statement_timeout`` (57014, the timeout
only) and ``lock_timeout`` (55P03, the timeout only); each by (user, database, application,
client) where the log line carries them ("" where it does not).

Sources, in order:

1. ``"file"``: the log file itself, when warroom runs on the database host as a user who may
   read it (stderr with the server's ``log_line_prefix``, csvlog or jsonlog; jsonlog is
   preferred when the server writes several, then csvlog).
2. ``"pg_read_file"``: the same file read through the server, with ``pg_ls_logdir()``
   (pg_monitor) and ``pg_read_binary_file(text, bigint, bigint, boolean)`` (needs
   ``GRANT EXECUTE``); only new bytes travel.
3. None: ``missing`` says in one line what is missing, ``fix`` the GRANT or setting
   (``warroom doctor`` prints the same). ``log_destination=stderr`` with
   ``logging_collector=off`` has no file at all: that is said too.

API::

    reader = ServerLogReader(conn)        # conn: a psycopg connection (autocommit), the
                                          # monitor's own; local_files=False skips source 1
    counts = reader.read()                # LogCounts since the previous read (the first read
                                          # starts at the end of the current file: no history)
    counts.source, counts.missing, counts.fix
    counts.totals["refused"]; counts.per_second("refused")
    counts.top["refused"]                 # tuple[Group(user, database, application, client,
                                          #            count)], largest first
    counts.by_second                      # {"2026-12-04 20:30:01 UTC": {"refused": 12}, ...}
    counts.behind_bytes                   # backlog left for the next read (bounded reads)
    counts.to_json()                      # the sample line's "server_log" object
    reader.close()

``read()`` does file or database I/O: call it from a worker thread, never the UI thread. It
uses ``conn`` for a probe on the first read (and while no source is found), and per read only
for the pg_read_file source or when the local ``current_logfiles`` cannot be read. Memory is
bounded (groups per kind and seconds per window are capped; records longer than a chunk are
skipped) and so is the work per read (``max_bytes``).

Limits: message texts are matched in English, so a stderr log without ``%e`` in its prefix
needs English ``lc_messages`` (csvlog and jsonlog carry the SQLSTATE), and so does telling a
timeout from a user's cancel (57014) or a NOWAIT (55P03) in any format. A refused connection's
line has no application name on 15 or 18 (the server refuses before it applies the startup
options): its user and client say who. 57P01 is also what every session gets at a fast
shutdown.
"""

from warroom.collectors.serverlog.counts import Group, LogCounts
from warroom.collectors.serverlog.kinds import KINDS
from warroom.collectors.serverlog.locate import Location, locate
from warroom.collectors.serverlog.reader import ServerLogReader

__all__ = ["KINDS", "Group", "Location", "LogCounts", "ServerLogReader", "locate"]
