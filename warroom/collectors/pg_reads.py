"""The reads beyond the sample query: replication, settings, pg_stat_statements.

Each costs only its own figure when it fails (a note says why); a broken connection still
raises, as for the sample query.
"""

from __future__ import annotations

import json
import threading
import time

from warroom.collectors import (
    pg_queries,
    pg_queries_replication,
    pg_queries_statements,
    pg_wire,
    replication,
    statements,
)
from warroom.collectors.pg_connection import MonitorSession
from warroom.collectors.pg_wire import WireError
from warroom.collectors.sample import Replication
from warroom.collectors.server_changes import Settings

# A primary with no standby and no slot has nothing to show but its role (which the sample
# itself says): looked at again this often, not every second, for the one that gets added.
LONE_PRIMARY_EVERY_S = 5.0


class ExtraReads:
    """PostgresCollector's part that reads the optional figures on the held connection."""

    budget: float
    # The last read (by the session it was made on) and when a lone primary is read again.
    _replication_kept: tuple[MonitorSession, Replication] | None = None
    _replication_due = 0.0
    statements_every: float
    statements: statements.StatementWindow
    _stop: threading.Event
    _statements_due: float
    _statements_note: str | None
    _replication_note: str | None
    _own_statements: int

    def _read_replication(
        self, session: MonitorSession, deadline: float, spent: float, in_recovery: bool | None
    ) -> Replication | None:
        """Where the server stands in replication: one prepared statement, or None and why.

        Prepared on first use, not in the connection's setup: a server that cannot plan it
        must cost only these figures, never the monitoring connection. ``spent`` is what the
        ping and the sample query just took: this read costs less than they did. A primary
        without standbys or slots is read every ``LONE_PRIMARY_EVERY_S`` (``in_recovery``, from
        the sample, says at once when it is a primary no longer).
        """
        if session.replication_refused is not None:
            return None
        kept = self._replication_kept
        if (kept is not None and kept[0] is session and in_recovery is False
                and time.monotonic() < self._replication_due):  # fmt: skip
            return kept[1]
        if deadline - time.monotonic() < max(2 * spent, 0.01):
            # A server this slow could keep us past the deadline, and a missed deadline
            # drops the connection, the one a storm would not give back. Time spent
            # connecting does not count: that says nothing about how fast the server answers.
            self._replication_note = "replication not read: the server answered slowly"
            return None
        try:
            if not session.replication_prepared:
                sql = pg_queries_replication.prepare_sql(session.version).encode()
                self._own_statements += 1
                pg_wire.execute(session.pgconn, lambda c: c.send_query(sql), deadline, self._stop)
                session.replication_prepared = True
            name = pg_queries_replication.REPLICATION.encode()
            self._own_statements += 1
            results = pg_wire.execute(
                session.pgconn, lambda c: c.send_query_prepared(name, None), deadline, self._stop
            )
            text = pg_wire.value(results[-1])
            if text is None:
                raise ValueError("empty answer to the replication query")
            repl = replication.parse(text)
        except WireError as exc:
            if exc.broken:
                raise
            # Cancelled by statement_timeout (a busy moment): the next sample tries again.
            if exc.failure.sqlstate != "57014":
                session.replication_refused = exc.failure
            self._replication_note = f"replication: {exc.failure.message}"[:200]
            return None
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self._replication_note = f"replication: unexpected answer: {exc!r}"[:200]
            return None
        self._replication_note = None
        self._replication_kept = (session, repl)
        lone = repl.role == "primary" and not repl.replicas and not repl.slots
        self._replication_due = time.monotonic() + LONE_PRIMARY_EVERY_S if lone else 0.0
        return repl

    def _read_settings(self, session: MonitorSession, deadline: float) -> Settings | None:
        text = self._optional(session, pg_queries.SETTINGS_SQL, None, deadline, note=False)
        if text is None:
            return None
        raw = json.loads(text)
        return {str(k): (None if v[0] is None else str(v[0]), bool(v[1])) for k, v in raw.items()}

    def _read_statements(self, session: MonitorSession, deadline: float) -> None:
        """A pg_stat_statements snapshot every few seconds, if it is there and time allows."""
        now = time.monotonic()
        if self.statements_every <= 0 or now < self._statements_due:
            return
        if deadline - now < self.budget / 2:
            # This sample is late already; the next one reads it. Half the budget leaves the
            # server's statement_timeout (0.6 of the budget) room to cancel a slow read before
            # our own deadline would have to drop the connection.
            return
        self._statements_due = now + self.statements_every
        if not session.statements_checked:
            session.statements_checked = True
            found = self._optional(session, pg_queries_statements.CHECK_SQL, None, deadline)
            if found is None:
                self._statements_note = "pg_stat_statements is not installed (CREATE EXTENSION)"
                return
            _version, schema, preload = json.loads(found)
            if preload is not None and "pg_stat_statements" not in str(preload):
                self._statements_note = (
                    "pg_stat_statements is not in shared_preload_libraries"
                )
                return
            session.statements_schema = str(schema)
        schema = session.statements_schema
        if schema is None:
            return
        text = self._optional(
            session, pg_queries_statements.numbers_sql(session.version, schema), None, deadline
        )
        if text is None:
            return
        self.statements.add(time.monotonic(), statements.parse_numbers(text))
        # Texts for the top ones we do not know; our own statements found this way drop out
        # of the ranking, so look twice.
        for _ in range(2):
            top_ids = [row[0] for row in self.statements.deltas()]
            missing = self.statements.missing_texts(top_ids)
            if not missing:
                break
            ids = ("{" + ",".join(str(q) for q in missing) + "}").encode()
            texts_sql = pg_queries_statements.texts_sql(schema)
            texts = self._optional(session, texts_sql, [ids], deadline)
            if texts is None:
                break
            learned = statements.parse_texts(texts)
            # A statement evicted since the snapshot has no text any more: do not ask again.
            learned.update({q: f"queryid {q}" for q in missing if q not in learned})
            self.statements.learn_texts(learned)
        self._statements_note = None

    def _optional(
        self,
        session: MonitorSession,
        sql: str,
        params: list[bytes | None] | None,
        deadline: float,
        *,
        note: bool = True,
    ) -> str | None:
        """One extra statement whose failure costs only its figure, never the sample.

        An error the server reports (no privilege, extension not preloaded) leaves the
        connection fine; a broken connection still raises, as for the sample query.
        """
        try:
            if params is None:
                results = pg_wire.execute(
                    session.pgconn, lambda c: c.send_query(sql.encode()), deadline, self._stop
                )
            else:
                results = pg_wire.execute(
                    session.pgconn, lambda c: c.send_query_params(sql.encode(), params),
                    deadline, self._stop,
                )  # fmt: skip
        except WireError as exc:
            if exc.broken:
                raise
            if note:
                self._statements_note = f"pg_stat_statements: {exc.failure.message}"[:200]
            return None
        self._own_statements += 1
        return pg_wire.value(results[-1])
