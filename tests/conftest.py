"""Suite-wide fixtures: a shared throwaway PostgreSQL cluster (``pg``) and ``pg_factory``.

Tests import helpers as ``from support.pgcluster import PgCluster`` (this directory is put on
sys.path below, whatever pytest's import mode). Without PostgreSQL binaries the tests that need a
cluster skip with the reason; with ``CI`` set they fail instead, so CI can never go green by
skipping everything.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from support.pgcluster import PgCluster, cluster_factory, cluster_or_skip  # noqa: E402


def _new_cluster(**kwargs: Any) -> PgCluster:
    return cluster_or_skip(**kwargs)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    """One cluster for the whole run (max_connections=40). Do not stop it; use pg_factory."""
    cluster = _new_cluster(max_connections=40)
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()


PgFactory = Callable[..., PgCluster]


@pytest.fixture
def pg_factory() -> Iterator[PgFactory]:
    """``pg_factory(max_connections=10, extra_conf=None, start=True) -> PgCluster``.

    Each call makes a private cluster the test may stop, restart or fill; all are stopped and
    deleted when the test ends, pass or fail.
    """
    with cluster_factory(_new_cluster) as make:
        yield make


@pytest.fixture
def tmux() -> Iterator[Any]:
    """A private tmux server with one session, ``term`` (support/tmux.py)."""
    from support.tmux import tmux_server

    with tmux_server("term") as server:
        yield server
