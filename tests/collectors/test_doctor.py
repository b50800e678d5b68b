"""`warroom doctor` on a real server: a bare login role gets the fixes and exit 1; a prepared
role exits 0; an unreachable server is one error line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import run_warroom
from support.pgcluster import PgCluster, free_port


def _role(pg: PgCluster, name: str, *grants: str) -> None:
    with pg.connect() as c:
        c.execute(f'DROP ROLE IF EXISTS "{name}"')
        c.execute(f'CREATE ROLE "{name}" LOGIN')
        for g in grants:
            c.execute(f'GRANT {g} TO "{name}"')


def test_a_bare_login_role_gets_the_sql_for_each_gap(pg: PgCluster, tmp_path: Path) -> None:
    _role(pg, "doc_bare")
    result = run_warroom("doctor", "--dsn", pg.dsn(user="doc_bare"), home=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert 'fix: GRANT pg_monitor TO "doc_bare";' in out
    assert 'fix: GRANT pg_signal_backend TO "doc_bare";' in out
    if pg.version_num >= 160000:
        assert 'fix: GRANT pg_use_reserved_connections TO "doc_bare";' in out
    else:
        assert "has no reserved_connections (16+)" in out  # a warning, not a gap
    assert "gap(s)" in out.splitlines()[-1]


def test_a_prepared_role_exits_0(pg: PgCluster, tmp_path: Path) -> None:
    grants = ["pg_monitor", "pg_signal_backend"]
    if pg.version_num >= 160000:
        grants.append("pg_use_reserved_connections")
    _role(pg, "doc_ready", *grants)
    with pg.connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    result = run_warroom("doctor", "--dsn", pg.dsn(user="doc_ready"), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GAP" not in result.stdout
    assert "ok    pg_monitor: yes" in result.stdout
    assert "the role is ready" in result.stdout


def test_an_unreachable_server_is_one_error_line(tmp_path: Path) -> None:
    dsn = f"host=127.0.0.1 port={free_port()} user=x connect_timeout=2"
    result = run_warroom("doctor", "--dsn", dsn, home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("warroom: error: cannot check the role: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_the_server_log_check_prints_the_setting_that_gives_a_log(pg: PgCluster,
                                                                  tmp_path: Path) -> None:
    # The suite's cluster logs to stderr with logging_collector off: no file to read anywhere.
    _role(pg, "doc_log", "pg_monitor")
    result = run_warroom("doctor", "--dsn", pg.dsn(user="doc_log"), home=tmp_path)
    out = result.stdout
    assert "warn  server log: log_destination=stderr with logging_collector=off" in out, out
    assert "fix: ALTER SYSTEM SET logging_collector = on;  -- then restart the server" in out


def test_the_server_log_check_on_the_database_host(
    pg_factory: Callable[..., PgCluster], tmp_path: Path
) -> None:
    cluster = pg_factory(extra_conf={"logging_collector": "on", "log_destination": "csvlog"})
    _role(cluster, "doc_log", "pg_monitor")
    result = run_warroom("doctor", "--dsn", cluster.dsn(user="doc_log"), home=tmp_path)
    assert "ok    server log: read on this host (csvlog, " in result.stdout, result.stdout
