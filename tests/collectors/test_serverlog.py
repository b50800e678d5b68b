"""The server-log collector against real servers of each major, in each log format: refusals,
wrong passwords, a kill, timeouts and a deadlock provoked for real, then counted with the
user, database, application and client the server logged; rotation loses and repeats nothing.

One cluster per format and major (module scope); the tests that only read share its counts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from support.pgcluster import APP_ROLE, PASSWORD_ROLE, PgCluster, cluster_or_skip
from support.serverlog_events import (
    REFUSED_APP,
    deadlock,
    lock_timeout,
    server_full,
    statement_timeout,
    terminate,
    try_connect,
    wrong_password,
)

from warroom.collectors.serverlog import KINDS, LogCounts, ServerLogReader

PREFIX = "%m [%p] %q%u@%d/%a %h "
FORMATS = ["stderr", "csvlog", "jsonlog"]


def log_conf(fmt: str) -> dict[str, str]:
    return {"logging_collector": "on", "log_destination": fmt, "log_line_prefix": PREFIX,
            "log_filename": "postgresql-%Y-%m-%d_%H%M%S.log", "deadlock_timeout": "100ms",
            "lc_messages": "C"}  # fmt: skip


@dataclass
class Seen:
    """Windows added up: totals and groups per kind, as a user of several reads would."""

    totals: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Counter[tuple[str, str, str, str]]] = field(default_factory=dict)
    windows: list[LogCounts] = field(default_factory=list)

    def add(self, counts: LogCounts) -> None:
        assert counts.source is not None, counts.missing
        self.windows.append(counts)
        self.totals.update({k: v for k, v in counts.totals.items() if v})
        for kind, groups in counts.top.items():
            for g in groups:
                key = (g.user, g.database, g.application, g.client)
                self.groups.setdefault(kind, Counter())[key] += g.count


def read_until(reader: ServerLogReader, seen: Seen, done: Callable[[Seen], bool],
               timeout: float = 15.0) -> Seen:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        seen.add(reader.read())
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"the log never showed it: {dict(seen.totals)}")
        time.sleep(0.05)


@pytest.fixture(scope="module", params=FORMATS)
def logged(request: pytest.FixtureRequest, pg_bin: Path) -> Iterator[PgCluster]:
    cluster = cluster_or_skip(max_connections=8, extra_conf=log_conf(request.param),
                              bin_dir=pg_bin)  # fmt: skip
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()


@dataclass
class Provoked:
    cluster: PgCluster
    seen: Seen
    fmt: str


@pytest.fixture(scope="module")
def provoked(logged: PgCluster, request: pytest.FixtureRequest) -> Iterator[Provoked]:
    """Every kind provoked once or more, read back until the last one (a statement timeout,
    which the server logs before the client hears of it) is counted."""
    conn = logged.connect()
    reader = ServerLogReader(conn, top=20)
    try:
        first = reader.read()
        assert first.source == "file" and sum(first.totals.values()) == 0
        with server_full(logged) as refused_filling:
            assert refused_filling == 2
            for _ in range(2):
                assert not try_connect(logged, APP_ROLE, REFUSED_APP)
        for _ in range(3):
            wrong_password(logged)
        terminate(logged)
        lock_timeout(logged)
        deadlock(logged)
        statement_timeout(logged)
        seen = read_until(reader, Seen(), lambda s: s.totals["statement_timeout"] >= 1)
        yield Provoked(logged, seen, first.format or "")
    finally:
        reader.close()
        conn.close()


def _by_user(seen: Seen, kind: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for (user, _db, _app, _client), n in seen.groups.get(kind, Counter()).items():
        out[user] += n
    return out


def test_the_reader_uses_the_servers_format(provoked: Provoked, logged: PgCluster) -> None:
    with logged.connect() as c:
        fmt = c.execute("SHOW log_destination").fetchone()
    assert fmt is not None and provoked.fmt == fmt[0]


def test_refused_connections_are_counted_by_user_database_and_client(provoked: Provoked) -> None:
    seen = provoked.seen
    # 1 refused app connect when the ordinary slots ran out, 1 postgres when the reserved ones
    # did, then 2 app connects against the full server.
    assert seen.totals["refused"] == 4
    assert _by_user(seen, "refused") == {APP_ROLE: 3, "postgres": 1}
    for (user, database, app, client), _n in seen.groups["refused"].items():
        assert database == "postgres" and client == "127.0.0.1", (user, database, client)
        # The server refuses before it applies the startup options: on 15 and 18, in every
        # format, a refused line has no application_name (user and client name who it was).
        assert app == "", app


def test_failed_passwords_name_the_role(provoked: Provoked) -> None:
    seen = provoked.seen
    assert seen.totals["auth_failed"] == 3
    [(key, n)] = seen.groups["auth_failed"].items()
    assert n == 3 and key[0] == PASSWORD_ROLE and key[1] == "postgres" and key[3] == "127.0.0.1"


def test_kill_timeouts_and_deadlock_name_the_application(provoked: Provoked) -> None:
    seen = provoked.seen
    expected = {"terminated": "doomed", "lock_timeout": "migrator", "deadlock": "transfers",
                "statement_timeout": "slow-report"}  # fmt: skip
    for kind, app in expected.items():
        assert seen.totals[kind] == 1, kind
        [(key, _n)] = seen.groups[kind].items()
        assert key == (APP_ROLE, "postgres", app, "127.0.0.1"), (kind, key)
    assert seen.totals["out_of_memory"] == 0


def test_counts_per_second_and_json(provoked: Provoked) -> None:
    window = next(w for w in provoked.seen.windows if w.totals["refused"])
    assert sum(c.get("refused", 0) for c in window.by_second.values()) == window.totals["refused"]
    out = window.to_json()
    assert out["source"] == "file" and out["format"] == provoked.fmt
    assert out["totals"]["refused"] == window.totals["refused"]
    assert set(out["totals"]) == set(KINDS)
    assert out["per_s"]["refused"] > 0


def test_rotation_loses_nothing_and_counts_nothing_twice(logged: PgCluster) -> None:
    with logged.connect() as conn:
        reader = ServerLogReader(conn)
        try:
            reader.read()
            for _ in range(3):
                wrong_password(logged)
            before = reader.read()
            old = before.path
            for _ in range(2):
                wrong_password(logged)
            # The file name has seconds: rotate until the server names a new file.
            deadline = time.monotonic() + 10
            while conn.execute("SELECT pg_rotate_logfile(), pg_current_logfile()").fetchone() \
                    [1] == old:  # fmt: skip
                assert time.monotonic() < deadline, "the log never rotated"
                time.sleep(0.1)
            for _ in range(4):
                wrong_password(logged)
            statement_timeout(logged)  # the last event: once it is counted, all before it are
            seen = Seen()
            seen.add(before)
            read_until(reader, seen, lambda s: s.totals["statement_timeout"] >= 1)
            assert seen.windows[-1].path != old
            assert seen.totals["auth_failed"] == 3 + 2 + 4
            assert reader.read().totals["auth_failed"] == 0
        finally:
            reader.close()


def test_a_backlog_is_read_in_bounded_chunks(logged: PgCluster) -> None:
    with logged.connect() as conn:
        reader = ServerLogReader(conn, max_bytes=200)
        try:
            reader.read()
            for _ in range(5):
                wrong_password(logged)
            statement_timeout(logged)
            first = reader.read()
            assert first.behind_bytes > 0  # 200 bytes cannot hold six log records
            seen = Seen()
            seen.add(first)
            read_until(reader, seen, lambda s: s.totals["statement_timeout"] >= 1)
            assert seen.totals["auth_failed"] == 5
            assert seen.windows[-1].behind_bytes == 0
        finally:
            reader.close()


def test_through_the_server_when_the_file_is_not_ours(logged: PgCluster) -> None:
    """A monitor role reads the log with pg_read_binary_file (local files turned off: as on
    another host); without the GRANT it gets the one line that says which GRANT."""
    with logged.connect() as admin:
        admin.execute("DROP ROLE IF EXISTS log_reader")
        admin.execute("CREATE ROLE log_reader LOGIN IN ROLE pg_monitor")
    with psycopg.connect(logged.dsn(user="log_reader"), autocommit=True) as conn:
        missing = ServerLogReader(conn, local_files=False).read()
    assert missing.source is None
    assert "pg_read_binary_file" in missing.missing
    assert missing.fix == ('GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, '
                           'boolean) TO "log_reader";')  # fmt: skip
    with logged.connect() as admin:
        admin.execute(missing.fix)
    with psycopg.connect(logged.dsn(user="log_reader"), autocommit=True) as conn:
        reader = ServerLogReader(conn, local_files=False)
        assert reader.read().source == "pg_read_file"
        for _ in range(2):
            wrong_password(logged)
        statement_timeout(logged)
        seen = read_until(reader, Seen(), lambda s: s.totals["statement_timeout"] >= 1)
    assert seen.totals["auth_failed"] == 2
    assert {w.source for w in seen.windows} == {"pg_read_file"}
    [(key, _n)] = seen.groups["auth_failed"].items()
    assert key[0] == PASSWORD_ROLE


def test_no_log_file_is_one_line_with_its_fix(pg: PgCluster) -> None:
    # The suite's shared cluster logs to stderr with logging_collector off, as many servers do.
    with pg.connect() as conn:
        counts = ServerLogReader(conn).read()
    assert counts.source is None
    assert "logging_collector=off" in counts.missing and "\n" not in counts.missing
    assert counts.fix.startswith("ALTER SYSTEM SET logging_collector = on;")
    assert counts.to_json() == {"source": None, "missing": counts.missing, "fix": counts.fix}


def test_an_unusual_prefix_with_padding_and_sqlstate(pg_bin: Path) -> None:
    """Another server's prefix: %t without milliseconds, %r (host and port), a padded
    application name that holds spaces, the SQLSTATE, session id, line, xids."""
    conf = {**log_conf("stderr"), "log_line_prefix": "%t:%r:%-24a:%e:%c:%l:%v:%x:%u@%d: "}
    cluster = cluster_or_skip(max_connections=10, extra_conf=conf, bin_dir=pg_bin)
    try:
        cluster.start()
        with cluster.connect() as conn:
            reader = ServerLogReader(conn)
            try:
                reader.read()
                wrong_password(cluster)
                statement_timeout(cluster, app="nightly report job")
                seen = read_until(reader, Seen(), lambda s: s.totals["statement_timeout"] >= 1)
            finally:
                reader.close()
    finally:
        cluster.cleanup()
    assert seen.totals["auth_failed"] == 1
    assert list(seen.groups["statement_timeout"]) == [
        (APP_ROLE, "postgres", "nightly report job", "127.0.0.1")]
    assert next(iter(seen.groups["auth_failed"]))[0] == PASSWORD_ROLE


def test_a_file_renamed_or_truncated_under_the_reader(logged: PgCluster) -> None:
    """What logrotate does to a file: renamed away (the server writes on into it), copied and
    truncated in place; then the server's own rotation to a new file."""
    with logged.connect() as conn:
        reader = ServerLogReader(conn)
        try:
            reader.read()
            where = reader.location
            assert where is not None and where.local_path is not None
            wrong_password(logged)
            seen = read_until(reader, Seen(), lambda s: s.totals["auth_failed"] >= 1)
            # copytruncate: the file is emptied in place, then fills again past our offset.
            where.local_path.write_bytes(b"")
            for _ in range(6):
                wrong_password(logged)
            statement_timeout(logged)
            read_until(reader, seen, lambda s: s.totals["statement_timeout"] >= 1)
            assert seen.totals["auth_failed"] == 1 + 6
            # Renamed away: the server keeps writing into it, and so the reader keeps reading.
            where.local_path.rename(where.local_path.with_name("moved-away.log"))
            wrong_password(logged)
            statement_timeout(logged)
            read_until(reader, seen, lambda s: s.totals["statement_timeout"] >= 2)
            assert seen.totals["auth_failed"] == 1 + 6 + 1
            conn.execute("SELECT pg_rotate_logfile()")
            wrong_password(logged)
            statement_timeout(logged)
            read_until(reader, seen, lambda s: s.totals["statement_timeout"] >= 3)
            assert seen.totals["auth_failed"] == 1 + 6 + 1 + 1
        finally:
            reader.close()
