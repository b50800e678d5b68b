"""`warroom sample --json` prints the findings that hold, with their evidence."""

from __future__ import annotations

import json
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
