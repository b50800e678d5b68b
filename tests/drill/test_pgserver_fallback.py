"""The demo's fallback for machines without PostgreSQL: the server shipped in the pgserver wheel.

It is also a second server version for the collector (16 here, beside the system's 15).
"""

from __future__ import annotations

import os

import pytest

from warroom.collectors.postgres import PostgresCollector
from warroom.drill import sandbox


@pytest.fixture
def wheel_server():
    bin_dir = sandbox._pgserver_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("pgserver (the demo extra) must be installed in CI")
        pytest.skip("pgserver is not installed (pip install 'warroom[demo]')")
    server = sandbox.Sandbox(max_connections=20, bin_dir=bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_the_wheel_server_runs_and_the_collector_reads_it(wheel_server) -> None:
    held = [wheel_server.connect(application_name="wheel-app") for _ in range(3)]
    collector = PostgresCollector(wheel_server.dsn(), interval=1.0, probe_every=0)
    try:
        sample = collector.sample()
        assert sample.up, sample.error
        assert sample.server_version is not None and sample.server_version >= 120000
        conns = sample.connections
        assert conns is not None and conns.max == 20
        assert dict((c.name, c.count) for c in conns.by_application)["wheel-app"] == 3
    finally:
        collector.close()
        for conn in held:
            conn.close()
