"""ServerLogSource against a server that stops answering: the caller gets a line-sized answer
("still reading") instead of waiting for the read, the read in flight is not started twice,
and its outcome arrives with a later sample once the server answers again."""

from __future__ import annotations

import threading
import time

from support.pgcluster import PgCluster
from support.proxy import TcpProxy

from warroom.collectors.serverlog.source import ServerLogSource


def test_a_stalled_server_gives_still_reading_then_the_answer(pg: PgCluster) -> None:
    with TcpProxy(pg.port) as proxy:
        proxy.stall()
        source = ServerLogSource(pg.dsn(port=proxy.port), budget=0.2, connect_timeout=30)
        try:
            first = source.sample()
            assert first.source is None and first.missing.startswith("still reading")
            second = source.sample()  # the same read is waited for again, not a second one
            assert second.missing.startswith("still reading")
            assert sum(t.name.startswith("warroom-serverlog") for t in threading.enumerate()) == 1
            proxy.resume()
            deadline = time.monotonic() + 30
            counts = source.sample()
            while counts.missing.startswith("still reading") and time.monotonic() < deadline:
                counts = source.sample()
            # The suite's cluster has no log file: the read's own answer, in one line.
            assert counts.source is None and "logging_collector=off" in counts.missing
            assert source.to_json(counts) == {"source": None, "missing": counts.missing,
                                              "fix": counts.fix}  # fmt: skip
        finally:
            source.close()


def test_a_dsn_libpq_cannot_read_is_data_not_an_exception() -> None:
    source = ServerLogSource("host=localhost port=notaport password=s3cret", budget=0.5)
    try:
        counts = source.sample()
    finally:
        source.close()
    assert counts.source is None and counts.missing
    assert "s3cret" not in counts.missing

