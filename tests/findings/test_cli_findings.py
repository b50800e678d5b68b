"""`warroom sample --json` prints the findings that hold, with their evidence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import run_warroom
from support.pgcluster import APP_ROLE, MONITOR_ROLE
from support.pgtest import held


def test_sample_json_names_the_application_holding_the_pool(pg_factory, tmp_path: Path) -> None:
    cluster = pg_factory(max_connections=10)  # 7 usable
    with held(cluster) as h:
        for _ in range(6):
            h.idle_in_transaction("hog", user=APP_ROLE)
        result = run_warroom(
            "sample", "--dsn", cluster.dsn(user=MONITOR_ROLE), "--count", "3",
            "--interval", "0.3", "--json", home=tmp_path,
            env={"XDG_CONFIG_HOME": str(tmp_path / "config")},  # default thresholds
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["findings"] == []  # one sample is not yet a finding
    (pool,) = [f for f in lines[-1]["findings"] if f["rule"] == "pool"]
    assert pool["subject"] == "hog" and pool["severity"] == "critical"
    assert pool["text"].startswith("hog holds 6 of 7 usable slots; 6 idle in transaction")
    assert pool["evidence"]["count"] == 6 and pool["evidence"]["usable"] == 7


def test_sample_json_reports_a_restart_with_the_downtime(pg_factory, tmp_path: Path) -> None:
    cluster = pg_factory(max_connections=10)
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "sample", "--dsn", cluster.dsn(user=MONITOR_ROLE),
         "--interval", "0.5", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["status"] == "up"
        cluster.restart()
        deadline = time.monotonic() + 30
        change = None
        while change is None and time.monotonic() < deadline:
            doc = json.loads(proc.stdout.readline())
            change = next((c for c in doc["signals"]["changes"] if c["kind"] == "restart"), None)
        assert change is not None, "no restart reported within 30 s"
        assert change["downtime_s"] is not None and change["downtime_s"] >= 0
        assert change["text"].startswith("server restarted at ")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
