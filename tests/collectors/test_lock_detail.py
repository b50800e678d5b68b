"""A lock chain's root: which lock it holds (pg_locks), and its query shown as its *last* one.

Real clusters of each major. The root takes the lock with one statement and then runs another
(``SELECT 1``): what pg_stat_activity shows is not what took the lock, and the finding says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from support.pgcluster import MONITOR_ROLE, PgCluster
from support.pgtest import held, sample_until, wait_active

from warroom.collectors.postgres import PostgresCollector


def orders(pg: PgCluster) -> None:
    with pg.connect() as c:
        c.execute("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, n int)")
        c.execute("INSERT INTO orders VALUES (1, 0) ON CONFLICT DO NOTHING")


def test_the_finding_names_the_rows_relation_and_labels_the_last_statement(
    pg: PgCluster, tmp_path: Path
) -> None:
    orders(pg)
    with held(pg) as h:
        root = h.idle("order-batch", user="postgres")
        root_pid = root.info.backend_pid
        root.execute("BEGIN")
        root.execute("UPDATE orders SET n = n + 1 WHERE id = 1")
        row = root.execute("SELECT txid_current() % 4294967296").fetchone()
        assert row is not None
        xid = int(row[0])
        root.execute("SELECT 1")  # its last statement: not the one that took the lock
        for _ in range(3):
            h.active("checkout", "UPDATE orders SET n = n + 1 WHERE id = 1", user="postgres")
        wait_active(pg, "checkout", 3, lock=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "sample", "--dsn", pg.dsn(user=MONITOR_ROLE),
             "--interval", "0.5", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "WARROOM_HOME": str(tmp_path),
                 "XDG_CONFIG_HOME": str(tmp_path / "config")},  # default thresholds
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            finding = None
            deadline = time.monotonic() + 40
            while finding is None and time.monotonic() < deadline:
                line = json.loads(proc.stdout.readline())
                finding = next((f for f in line["findings"] if f["rule"] == "lock_root"), None)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        root.rollback()
    assert finding is not None, "no lock_root finding within 40 s"
    assert finding["subject"] == f"pid {root_pid}"
    lock = f"ExclusiveLock on transactionid {xid} (rows of orders)"
    assert f"; it holds {lock}" in finding["text"]
    assert finding["text"].endswith(
        "; its last statement, which may not be the one that took the lock: SELECT 1")
    evidence = finding["evidence"]
    assert evidence["locks"] == [lock]
    assert evidence["relations"] == ["orders"]
    assert evidence["last_query"] == "SELECT 1" and "query" not in evidence


def test_a_table_lock_is_named_with_its_mode_and_relation(pg: PgCluster) -> None:
    orders(pg)
    with held(pg) as h, PostgresCollector(pg.dsn(user=MONITOR_ROLE), interval=1.0,
                                          probe_every=0) as col:  # fmt: skip
        root = h.idle("migration", user="postgres")
        root.execute("BEGIN")
        root.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        root.execute("SELECT 1")
        for _ in range(2):
            h.active("reader", "SELECT count(*) FROM orders", user="postgres")
        wait_active(pg, "reader", 2, lock=True)
        s = sample_until(col, lambda s: bool(s.lock_roots) and bool(s.lock_roots[0].holds))
        (lock,) = s.lock_roots[0].holds
        assert (lock.locktype, lock.mode, lock.relation) == (
            "relation", "AccessExclusiveLock", "orders")
        root.rollback()
        # No one waits any more: no root, and pg_locks is not read for one.
        s = sample_until(col, lambda s: s.up and not s.lock_roots)
        assert s.blocked == ()
