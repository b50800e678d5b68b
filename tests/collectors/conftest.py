"""Collector fixtures: a real PgBouncer in front of the suite's PostgreSQL cluster."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.pgbouncer import BouncerUnavailable, PgBouncer
from support.pgcluster import PgCluster

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
