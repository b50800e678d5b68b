"""`warroom sample --json` reads the server's own log: on a real server of each major whose
slots are full, a real client retrying refused connects is counted, named by user and client
address, and raised as the retry_storm finding; a healthy server counts nothing and raises
nothing; a server without a log file gets one line saying what is missing, and no crash."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.pgcluster import APP_ROLE, PgCluster, cluster_or_skip
from support.retrier import Retrier
from support.serverlog_events import REFUSED_APP, server_full, try_connect

LOG_CONF = {"logging_collector": "on", "log_destination": "stderr",
            "log_line_prefix": "%m [%p] %q%u@%d/%a %h ", "lc_messages": "C"}  # fmt: skip


@pytest.fixture
def logged(pg_bin: Path) -> Iterator[PgCluster]:
    cluster = cluster_or_skip(max_connections=8, extra_conf=LOG_CONF, bin_dir=pg_bin)
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()


class Sampler:
    """`warroom sample --json` running, its lines collected by a thread as they land."""

    def __init__(self, dsn: str, home: Path, *extra: str) -> None:
        env = {**os.environ, "WARROOM_HOME": str(home)}
        env.pop("WARROOM_DEBUG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "sample", "--dsn", dsn, "--json", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def until(
        self, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            seen.append(line)
            if done(line):
                return line
        raise AssertionError(f"no such line in {len(seen)}: last {seen[-1:] if seen else None}")

    def stop(self) -> str:
        """Its stderr, once it has ended (stopped here if it still runs)."""
        self.proc.terminate()
        self.proc.wait(timeout=15)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def _storm(line: dict[str, Any]) -> dict[str, Any] | None:
    return next((f for f in line.get("findings") or [] if f["rule"] == "retry_storm"), None)


def test_refused_retries_are_counted_and_named(logged: PgCluster, tmp_path: Path) -> None:
    sampler = Sampler(logged.dsn(), tmp_path, "--interval", "0.5")
    try:
        # The first lines may come while the first read still runs ("still reading").
        sampler.until(lambda ln: ln["status"] == "up" and ln["server_log"]["source"] == "file")
        with server_full(logged), Retrier(logged) as retrier:
            line = sampler.until(lambda line: _storm(line) is not None)
            assert retrier.refused > 0
        log = line["server_log"]
        assert log["source"] == "file" and log["format"] == "stderr"
        assert log["totals"]["refused"] > 0 and log["per_s"]["refused"] > 0
        assert log["last_minute"]["refused"] >= log["totals"]["refused"]
        top = log["top"]["refused"][0]
        # Named by who the log line carries: the role and address, never the application.
        assert (top["user"], top["client"], top["application"]) == (APP_ROLE, "127.0.0.1", "")
        storm = _storm(line)
        assert storm is not None
        assert f"user {APP_ROLE}" in storm["text"] and "from 127.0.0.1" in storm["text"]
        assert "connections/s" in storm["text"]
        # The sample's own grouping says who holds the slots the retries wanted.
        assert f"slots are held by {REFUSED_APP}" in storm["text"]
        assert storm["evidence"]["refused"][0]["user"] == APP_ROLE
        assert storm["evidence"]["refused_per_s"] > 0
    finally:
        err = sampler.stop()
    assert "Traceback" not in err


def test_a_healthy_server_counts_nothing(logged: PgCluster, tmp_path: Path) -> None:
    sampler = Sampler(logged.dsn(), tmp_path, "--interval", "0.3", "--count", "12")
    try:
        # From the first line that carries the log's answer (earlier ones may be "still reading").
        lines = [sampler.until(lambda line: line["server_log"]["source"] == "file")]
        assert try_connect(logged, APP_ROLE, "fine")  # a connect that succeeds is no refusal
        lines += [sampler.until(lambda _line: True) for _ in range(3)]
    finally:
        err = sampler.stop()
    assert "Traceback" not in err
    for line in lines:
        log = line["server_log"]
        assert log["source"] == "file"
        assert sum(log["totals"].values()) == 0 and log["top"] == {}
        assert sum(log["last_minute"].values()) == 0
        assert line["findings"] == []


def test_no_log_file_is_one_line_and_no_crash(pg: PgCluster, tmp_path: Path) -> None:
    # The suite's shared cluster logs to stderr with logging_collector off.
    sampler = Sampler(pg.dsn(), tmp_path, "--interval", "1", "--count", "4")
    seen: list[dict[str, Any]] = []

    def answered(line: dict[str, Any]) -> bool:
        # A line may come while the first read still runs ("still reading"): the answer follows.
        seen.append(line)
        return "logging_collector=off" in (line["server_log"].get("missing") or "")

    try:
        line = sampler.until(answered)
    finally:
        err = sampler.stop()
    assert "Traceback" not in err
    for each in seen:
        assert each["status"] == "up" and each["server_log"]["source"] is None
    log = line["server_log"]
    assert set(log) == {"source", "missing", "fix"}
    assert "\n" not in log["missing"]
    assert log["fix"].startswith("ALTER SYSTEM SET logging_collector = on;")
