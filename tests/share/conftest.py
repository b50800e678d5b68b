"""Fixtures for sharing tests: an ops cluster, and "hosts" (support/share_hosts.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.share_hosts import Host

from warroom.sessions.store import load


@pytest.fixture
def ops(pg_factory: Any) -> Any:
    cluster = pg_factory(max_connections=40)
    return cluster


@pytest.fixture
def ops_dsn(ops: Any) -> str:
    return ops.dsn()


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Callable[[str], Host]]:
    def make(name: str) -> Host:
        return Host(tmp_path, name)

    yield make


@pytest.fixture
def shared(ops_dsn: str, hosts: Callable[[str], Host]) -> tuple[Host, Host, str]:
    """Host a created and shared an incident, host b joined it; returns (a, b, incident id)."""
    a, b = hosts("hostA"), hosts("hostB")
    a.run("share", "init", "--share", ops_dsn)
    path = Path(a.run("new", "--share", ops_dsn, "--title", "orders db").stdout.strip())
    incident = load(path).incident.id
    b.run("join", incident, "--share", ops_dsn)
    return a, b, incident
