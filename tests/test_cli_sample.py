"""`warroom sample --json` from a shell: one JSON object per line, a down server is data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_helpers import run_warroom
from support.pgcluster import free_port

# The original contract, then what issues 11 (findings, signals) and 12 (role, replication)
# added beside it.
KEYS = {"at", "status", "error", "connections", "latency_ms", "tps", "findings", "signals",
        "role", "replication", "server_log"}  # issue 19: the server's own log
CONN_KEYS = {"total", "max", "saturation", "by_state", "waiting", "by_application", "source",
             "by_user", "by_client", "by_group"}  # issue 19: who holds the slots, any source


def test_samples_a_live_server_as_json_lines(pg, tmp_path: Path) -> None:
    held = pg.connect(application_name="sample-cli-app")
    try:
        result = run_warroom(
            "sample", "--dsn", pg.dsn(), "--count", "2", "--interval", "0.5", "--json",
            home=tmp_path,
        )
    finally:
        held.close()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        sample = json.loads(line)
        assert set(sample) == KEYS
        assert sample["status"] == "up" and sample["error"] is None
        assert set(sample["connections"]) == CONN_KEYS
        assert sample["connections"]["max"] == 40
        names = {a["name"]: a["count"] for a in sample["connections"]["by_application"]}
        assert names.get("sample-cli-app") == 1
        assert sample["latency_ms"]["query"] > 0
        assert sample["role"] == "primary" and "server" not in sample  # one server: no name


def test_a_down_server_is_a_down_sample_not_a_crash(tmp_path: Path) -> None:
    dsn = f"host=127.0.0.1 port={free_port()} user=nobody dbname=none connect_timeout=2"
    result = run_warroom("sample", "--dsn", dsn, "--count", "1", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    sample = json.loads(result.stdout)
    assert sample["status"] == "down"
    assert sample["connections"] is None
    assert sample["error"]["kind"] == "unreachable"


def test_each_sample_is_flushed_as_it_completes(pg, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "sample", "--dsn", pg.dsn(), "--interval", "0.5",
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = proc.stdout.readline()  # arrives while the command is still running
        assert json.loads(first)["status"] == "up"
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_bad_sample_arguments_get_one_line(tmp_path: Path) -> None:
    for args in (["--count", "0"], ["--interval", "-1"]):
        result = run_warroom("sample", *args, "--json", home=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("warroom: error: ") and result.stderr.count("\n") == 1
