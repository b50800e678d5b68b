"""The test suite's throwaway PostgreSQL: a thin layer over ``warroom.drill.sandbox.Sandbox``.

The cluster logic (binaries, running as ``postgres`` when root, own data/socket dir and port,
loopback only) lives in the sandbox, shared with `warroom demo`. This layer adds the roles tests
rely on and a few polling helpers. Nothing here writes a password anywhere: the password role's
secret lives in memory (``PgCluster.password``) and reaches the server inside a SQL statement.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from warroom.drill.sandbox import (
    Sandbox,
    StopMode,
    find_bin_dir,
    free_port,
)
from warroom.drill.sandbox import (
    SandboxUnavailable as PgUnavailable,
)

__all__ = [
    "APP_ROLE", "MONITOR_ROLE", "PASSWORD_ROLE", "PgCluster", "PgUnavailable", "StopMode",
    "find_bin_dir", "free_port", "running_cluster",
]  # fmt: skip

MONITOR_ROLE = "warroom_monitor"  # non-superuser with pg_monitor: what a real monitor runs as
APP_ROLE = "app"  # ordinary non-superuser: fills slots in storm tests
PASSWORD_ROLE = "warroom_pw"  # the only role that must authenticate with a password


class PgCluster(Sandbox):
    """One throwaway cluster with the test roles. ``start()`` creates it on first use."""

    def __init__(
        self,
        *,
        max_connections: int = 40,
        extra_conf: Mapping[str, str | int | float] | None = None,
        bin_dir: Path | None = None,
        hba: Sequence[str] = (),
    ) -> None:
        super().__init__(
            max_connections=max_connections,
            extra_conf=extra_conf,
            bin_dir=bin_dir,
            hba=[f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256", *hba],
            prefix="warroom-pg-",
        )
        # Random per cluster; held in memory only, handed to tests that exercise auth.
        self.password = secrets.token_urlsafe(16)

    def start(self) -> PgCluster:
        if self.running:
            return self
        super().start()
        self._bootstrap_roles()
        return self

    def restart(self, mode: StopMode = "fast") -> PgCluster:
        self.stop(mode)
        return self.start()

    def __enter__(self) -> PgCluster:
        return self.start()

    def _bootstrap_roles(self) -> None:
        with self.connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (MONITOR_ROLE,)
            ).fetchone()
            if exists:
                return
            conn.execute(f'CREATE ROLE "{MONITOR_ROLE}" LOGIN')
            conn.execute(f'GRANT pg_monitor TO "{MONITOR_ROLE}"')
            conn.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN')
            # The password travels in this statement only; log_statement is off.
            conn.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    psycopg.sql.Identifier(PASSWORD_ROLE), psycopg.sql.Literal(self.password)
                )
            )

    @property
    def version_num(self) -> int:
        with self.connect() as conn:
            return conn.info.server_version

    def backend_pids(self, application_name: str) -> list[int]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid",
                (application_name,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def wait_for(self, sql: str, expected: object, timeout: float = 10.0) -> object:
        """Poll ``sql`` (first column, first row) until it equals ``expected`` or time runs out."""
        deadline = time.monotonic() + timeout
        value: object = None
        with self.connect() as conn:
            while time.monotonic() < deadline:
                row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
                value = row[0] if row else None
                if value == expected:
                    return value
                time.sleep(0.02)
        raise AssertionError(f"{sql!r} gave {value!r}, expected {expected!r} within {timeout}s")


@contextlib.contextmanager
def running_cluster(**kwargs: object) -> Iterator[PgCluster]:
    cluster = PgCluster(**kwargs)  # type: ignore[arg-type]
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()


def cluster_or_skip(**kwargs: Any) -> PgCluster:
    """A PgCluster, or skip the test when no server can be had (fail instead in CI)."""
    import os

    import pytest

    try:
        return PgCluster(**kwargs)
    except PgUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL server available: {exc}")


@contextlib.contextmanager
def cluster_factory(new: Callable[..., PgCluster]) -> Iterator[Callable[..., PgCluster]]:
    """``make(max_connections=10, extra_conf=None, start=True, **more)``; all cleaned up after."""
    made: list[PgCluster] = []

    def make(
        max_connections: int = 10,
        extra_conf: dict[str, Any] | None = None,
        start: bool = True,
        **more: Any,
    ) -> PgCluster:
        cluster = new(max_connections=max_connections, extra_conf=extra_conf, **more)
        made.append(cluster)
        return cluster.start() if start else cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.cleanup()
