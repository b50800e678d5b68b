"""`warroom sample --json` with several `--dsn`, against real servers of each major: one line per
server per tick, named; a primary and its replica side by side; a server that stops answering
(SIGSTOP) or goes away never holds up the others' lines."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
from cli_helpers import run_warroom
from support.pgcluster import MONITOR_ROLE, PgCluster
from support.replica import REPLICATION_HBA, replica_of, replication_conf

from warroom.collectors.dsn import server_name

Doc = dict[str, Any]


class Lines:
    """The objects a running `warroom sample` prints, read on a thread so that a silent
    command fails the test at a deadline instead of hanging it."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[Doc] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line)
        self._q.put(None)

    def until(self, ok: Callable[[Doc], bool], timeout: float = 30.0) -> Doc:
        """Read objects until one satisfies ``ok``; every object read is kept in ``seen``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._q.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                last = self.seen[-3:]
                raise AssertionError(f"no such object within {timeout}s; last: {last}") from None
            if line is None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"warroom sample ended: {err}")
            doc = json.loads(line)
            self.seen.append(doc)
            if ok(doc):
                return doc


@contextlib.contextmanager
def sampling(*dsns: str, interval: float, tmp_path: Path) -> Iterator[Lines]:
    args = [a for d in dsns for a in ("--dsn", d)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "sample", *args, "--interval", str(interval),
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "WARROOM_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
    )  # fmt: skip
    try:
        yield Lines(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def up(name: str) -> Callable[[Doc], bool]:
    return lambda d: d["server"] == name and d["status"] == "up"


@contextlib.contextmanager
def stopped(cluster: PgCluster) -> Iterator[None]:
    """The whole server SIGSTOPped (postmaster first, so it forks nothing new, then every
    backend and auxiliary process), and always continued afterwards."""
    assert cluster.pid is not None
    postmaster = psutil.Process(cluster.pid)
    procs = [postmaster]
    try:
        postmaster.send_signal(signal.SIGSTOP)
        procs += postmaster.children(recursive=True)
        for p in procs[1:]:
            p.send_signal(signal.SIGSTOP)
        yield
    finally:
        for p in reversed(procs):
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGCONT)


def test_each_server_gets_its_own_named_lines(pg: PgCluster, tmp_path: Path) -> None:
    dsn = pg.dsn(user=MONITOR_ROLE)
    # The same server twice (another database): two names, the second one made unique.
    other = pg.dsn(user=MONITOR_ROLE, dbname="template1")
    result = run_warroom("sample", "--dsn", dsn, "--dsn", other, "--count", "2",
                         "--interval", "1", "--json", home=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    name = server_name(dsn)
    assert name == f"127.0.0.1:{pg.port}"
    assert sorted(d["server"] for d in docs) == [name, name, f"{name}-2", f"{name}-2"]
    for d in docs:
        assert d["status"] == "up" and d["role"] == "primary"
        assert d["replication"]["role"] == "primary"
        assert next(iter(d)) == "server"  # first, so a reader of the raw line sees it first


def test_a_primary_and_its_replica_side_by_side_then_the_replica_stops(
    pg_factory, tmp_path: Path
) -> None:
    primary = pg_factory(max_connections=20, extra_conf=replication_conf(), hba=REPLICATION_HBA)
    with replica_of(primary) as replica:
        p_dsn, r_dsn = primary.dsn(user=MONITOR_ROLE), replica.dsn(user=MONITOR_ROLE)
        p_name, r_name = server_name(p_dsn), server_name(r_dsn)
        with sampling(p_dsn, r_dsn, interval=0.5, tmp_path=tmp_path) as lines:
            p = lines.until(lambda d: up(p_name)(d) and any(
                r["state"] == "streaming" for r in d["replication"]["replicas"]))  # fmt: skip
            assert p["role"] == "primary"
            (link,) = p["replication"]["replicas"]
            assert link["name"] == "walreceiver" and link["client"] == "127.0.0.1"
            r = lines.until(lambda d: up(r_name)(d) and d["replication"]["receiving"])
            assert r["role"] == "replica"
            assert r["replication"]["upstream"] == f"127.0.0.1:{primary.port}"

            replica.stop("fast")
            # The primary says its standby is gone; the replica's own lines say down.
            lines.until(lambda d: up(p_name)(d) and d["replication"]["replicas"] == [])
            gone = lines.until(lambda d: d["server"] == r_name and d["status"] == "down")
            assert gone["role"] is None and gone["replication"] is None
            # ...and the primary's lines keep coming, every one of them up.
            mark = len(lines.seen)
            lines.until(lambda d: d["server"] == p_name, 30)
            lines.until(lambda d: d["server"] == p_name, 30)
            after = lines.seen[mark:]
            assert all(d["status"] == "up" for d in after if d["server"] == p_name)


def test_a_stalled_server_never_holds_up_the_others(pg_factory, pg, tmp_path: Path) -> None:
    stalled = pg_factory(max_connections=10)
    a_dsn, b_dsn = stalled.dsn(user=MONITOR_ROLE), pg.dsn(user=MONITOR_ROLE)
    a, b = server_name(a_dsn), server_name(b_dsn)

    # Stalled from the start, listed first: each of its samples takes its whole budget (1.6 s
    # of the 2 s interval) and ends in a timeout. Polled in turn, its line would always come
    # first; polled on its own thread, the healthy server's line is out long before.
    with stopped(stalled):
        result = run_warroom("sample", "--dsn", a_dsn, "--dsn", b_dsn, "--count", "2",
                             "--interval", "2", "--json", home=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["server"] for d in docs].count(a) == 2  # --count is per server
    assert docs[0]["server"] == b and docs[0]["status"] == "up"
    assert all(d["status"] == "down" and d["error"]["kind"] == "timeout"
               for d in docs if d["server"] == a)  # fmt: skip

    # Stalled while running: the other server's objects keep arriving, all up, at its pace.
    with sampling(a_dsn, b_dsn, interval=0.5, tmp_path=tmp_path) as lines:
        lines.until(up(a))
        lines.until(up(b))
        with stopped(stalled):
            first = lines.until(lambda d: d["server"] == a and d["status"] == "down")
            mark = len(lines.seen)
            for _ in range(4):
                lines.until(lambda d: d["server"] == a and d["status"] == "down")
            between = lines.seen[mark:]
        assert first["error"]["kind"] == "timeout"
        others = [d for d in between if d["server"] == b]
        # Four of A's ticks went by: B had about as many, and none of them suffered.
        assert len(others) >= 3
        assert all(d["status"] == "up" for d in others)
        # Continued, the stalled server is sampled again on its own line.
        lines.until(up(a))
