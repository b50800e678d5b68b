"""Headless sampling (``warroom sample --json``): each server on its own poller, one JSON line each.

A server's line holds its PostgreSQL sample, the findings the engine raises from it, its server
log's counts and, with a PgBouncer, its pools. Each server is polled on its own (collectors/
poll.py), so one that stops answering never delays the others' lines; the lines come out in the
order the servers finished them.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warroom.collectors.poll import Poller

if TYPE_CHECKING:
    from warroom.collectors.bouncer_sample import BouncerSample
    from warroom.collectors.findings import FindingsEngine
    from warroom.collectors.findings.config import FindingsConfig
    from warroom.collectors.findings.model import FindingEvent
    from warroom.collectors.host import HostCollector
    from warroom.collectors.pgbouncer import PgBouncerCollector
    from warroom.collectors.postgres import PostgresCollector
    from warroom.collectors.sample import PgSample
    from warroom.collectors.serverlog.counts import LogCounts
    from warroom.collectors.serverlog.source import ServerLogSource


@dataclass(frozen=True, slots=True)
class Taken:
    """One server's sample: the JSON line's object and what it was made of."""

    sample: PgSample
    pools: BouncerSample | None
    logged: LogCounts
    findings: list[FindingEvent]  # the transitions this sample caused
    body: dict[str, Any]


class ServerLines:
    """One server's sample as a JSON line; ``line()`` is what its poller calls.

    Its PgBouncer is sampled at the same time on a second thread, so a stalled one never adds
    its budget to the server's. So is its server log, waited for only until the sample's budget
    is spent.
    """

    def __init__(
        self,
        collector: PostgresCollector,
        bouncer: PgBouncerCollector | None,
        name: str | None,
        findings: FindingsConfig,
        dsn: str = "",
    ) -> None:
        self.collector = collector
        self.bouncer = bouncer
        self.name = name  # None: one server's lines keep the original keys
        self.dsn = dsn
        self._findings = findings
        self._side = None
        if bouncer is not None:
            self._side = ThreadPoolExecutor(1, thread_name_prefix="warroom-bouncer")
        # Made on the poller's thread, at its first sample: psutil measures CPU per calling
        # thread, from that thread's first call; and a failure to make them is the poller's.
        self._log: ServerLogSource | None = None
        self._engine: FindingsEngine | None = None
        self._host: HostCollector | None = None

    def _begin(self) -> tuple[ServerLogSource, FindingsEngine]:
        from warroom.collectors.findings import FindingsEngine
        from warroom.collectors.serverlog.source import ServerLogSource

        if self._log is None:
            self._log = ServerLogSource(self.dsn, budget=self.collector.budget)
        if self._engine is None:
            self._engine = FindingsEngine(self._findings)
            self._host = _local_host_collector(self.collector)
        return self._log, self._engine

    def line(self) -> str:
        return json.dumps(self.take().body, separators=(",", ":"))

    def take(self) -> Taken:
        """One sample of everything, as the line's object and the parts it was made of.

        ``warroom record`` (recording/sampler.py) keeps the parts too: the sample and pools for
        the alert rules, the findings' transitions for its log.
        """
        log, engine = self._begin()
        started = time.monotonic()
        side, bouncer = self._side, self.bouncer
        pooled = side.submit(bouncer.sample) if side is not None and bouncer is not None else None
        log.start()
        sample = self.collector.sample()
        pools = pooled.result() if pooled is not None else None
        logged = log.result(started + self.collector.budget - time.monotonic())
        engine.feed_server_log(logged)
        if self._host is not None:
            engine.feed_host(self._host.sample())
        if pools is not None:
            engine.feed_bouncer(pools)
        events = engine.feed(sample)
        findings = [f.to_json() for f in engine.active()]
        body = sample.to_json(findings)
        out = body if self.name is None else {"server": self.name, **body}
        if pools is not None:
            out["pgbouncer"] = pools.to_json()
        out["server_log"] = log.to_json(logged)
        return Taken(sample, pools, logged, events, out)

    def close_side(self) -> None:
        """What the poller's thread releases as it ends (the collectors are closed by the owner)."""
        if self._side is not None:
            self._side.shutdown(wait=False)
        if self._log is not None:
            self._log.close()

    def close_collectors(self) -> None:
        """Also wakes a sample() waiting on a stalled server."""
        self.collector.close()
        if self.bouncer is not None:
            self.bouncer.close()


def _local_host_collector(collector: PostgresCollector) -> HostCollector | None:
    """The host's CPU is evidence only when it is the database's host (warroom runs there)."""
    from warroom.collectors.host import HostCollector

    return HostCollector(collector.port) if collector.is_local else None


def sample_lines(
    servers: Sequence[ServerLines], interval: float, count: int | None
) -> Iterator[str]:
    """Every server's lines as they land, until each has given ``count`` (None: forever).

    The first failure of any server's loop is raised here, in the caller's thread (one line
    for the user, never a thread's traceback). Closing the iterator stops every poller.
    """
    lines: queue.Queue[str | BaseException | None] = queue.Queue()
    pollers: list[Poller[str]] = []

    def failed(exc: BaseException, i: int) -> None:
        lines.put(exc)  # the caller raises it, which stops every poller
        pollers[i].stop()  # and this one samples no more meanwhile

    def ended(server: ServerLines) -> None:
        server.close_side()
        lines.put(None)

    for i, server in enumerate(servers):
        pollers.append(Poller(
            f"sample-{i}", server.line, lines.put, interval,
            on_error=lambda exc, i=i: failed(exc, i),
            count=count,
            min_wait=0.0,  # a sample that took longer than the interval: the next at once
            on_exit=lambda server=server: ended(server),
            pace=server.collector.every,
        ))  # fmt: skip
    try:
        for poller in pollers:
            poller.start()
        running = len(pollers)
        while running:
            item = lines.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        for poller in pollers:
            poller.stop()
        for server in servers:
            server.close_collectors()
        for poller in pollers:
            poller.join(timeout=2.0)
