"""`warroom history --share DSN` (issue 23): the shared incidents a host has no copy of are
folded from their events and counted; its own copies are counted once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.share_hosts import Host


def _history(host: Host, *args: str) -> dict[str, Any]:
    result = host.run("history", "--format", "json", *args)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_shared_incidents_are_counted_once(ops_dsn: str,
                                           hosts: Callable[[str], Host]) -> None:
    a, b = hosts("hostA"), hosts("hostB")
    a.run("share", "init", "--share", ops_dsn)
    first = Path(a.run("new", "--share", ops_dsn, "--title", "orders db", "--severity", "SEV1",
                       "--at", "2026-10-02T09:00:00Z").stdout.strip())
    a.run("new", "--share", ops_dsn, "--title", "billing db", "--severity", "SEV3",
          "--at", "2026-11-03T09:00:00Z")
    a.run("status", "resolved", "--session", str(first), "--at", "2026-10-02T09:30:00Z")
    b.run("new", "--title", "only on b", "--severity", "SEV2", "--at", "2026-11-05T09:00:00Z")

    local_only = _history(b)
    assert local_only["incidents"] == 1
    on_b = _history(b, "--share", ops_dsn)
    assert on_b["incidents"] == 3
    assert on_b["by_severity"] == {"SEV1": 1, "SEV2": 1, "SEV3": 1, "SEV4": 0}
    oct_ = next(m for m in on_b["months"] if m["month"] == "2026-10")
    assert oct_["mttr"] == {"seconds": 1800, "over": 1}  # folded from the status event
    shared = [i for i in on_b["incident_list"] if i["where"].endswith("(shared)")]
    assert sorted(i["title"] for i in shared) == ["billing db", "orders db"]
    assert not any(p.name for p in b.home.glob("*.toml") if "orders" in p.name)  # nothing written
    assert _history(a, "--share", ops_dsn)["incidents"] == 2  # its copies, not twice


def test_an_unreachable_ops_database_is_one_line(hosts: Callable[[str], Host]) -> None:
    a = hosts("hostA")
    result = a.run("history", "--share", "host=127.0.0.1 port=1 connect_timeout=1",
                   check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("warroom: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
