"""`warroom history` over 500 sessions across 24 months, from the files, in a fresh process.

Generates the sessions once (in --dir, default a temporary directory): each has its header,
some 20 timeline entries with a few findings, 1 to 4 action items and 30 minutes to 4 hours of
10 s rollups (the bytes the history must skip). Then runs `warroom history` (and `--format
json`) as a new process each time and prints the times. Prints figures; asserts nothing.
Target: <= 1 s.

    .venv/bin/python bench/bench_history.py [--runs N] [--dir DIR] [--sessions N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.sessions.model import (
    SEVERITIES,
    ActionItem,
    Incident,
    Kind,
    SampleRollup,
    Source,
    TimelineEntry,
)
from warroom.sessions.store import Store

FIRST = datetime(2024, 12, 1, tzinfo=UTC)
MONTHS = 24
FINDINGS = (
    "the server refused {n} connections/s for user {user} ({app}) on shop from 10.0.0.{n}",
    "{app} holds {n} of 97 usable",
    "{n} sessions/s came and went from {app} (before: 3/s): connect-per-request",
    "pid {n} ({app}, idle in transaction 5m) blocks {n} sessions; the longest has waited 30 s",
    "host CPU idle (3 % busy) while queries are slow: {n} sessions are waiting, not working",
)
APPS = ("checkout-api", "billing", "search", "reports", "web-php", "batch")
USERS = ("checkout", "billing", "search", "etl")


def make(i: int, rng: random.Random) -> Incident:
    start = FIRST + timedelta(days=rng.uniform(0, MONTHS * 30.4), seconds=0)
    start = start.replace(microsecond=0)
    inc = Incident.create(f"incident {i}: connection storm", start,
                          severity=rng.choice(SEVERITIES))
    minutes = rng.randrange(30, 240)
    inc.set_key_time("detected_at", start + timedelta(minutes=rng.randrange(1, 15)))
    inc.set_key_time("mitigated_at", start + timedelta(minutes=minutes // 2))
    if rng.random() < 0.9:
        inc.status_change("resolved", start + timedelta(minutes=minutes))
    for n in range(20):
        at = start + timedelta(minutes=n * minutes / 20)
        if n % 6 == 2:
            text = rng.choice(FINDINGS).format(n=rng.randrange(2, 200), app=rng.choice(APPS),
                                               user=rng.choice(USERS))
            inc.timeline.append(TimelineEntry(at, text, Kind.FINDING, "warroom", Source.AUTO))
        else:
            inc.timeline.append(TimelineEntry(at, f"note {n}: looked at pg_stat_activity",
                                              Kind.NOTE, "alice"))
    for n in range(rng.randrange(1, 5)):
        due = (start + timedelta(days=rng.randrange(7, 60))).date()
        item = ActionItem(f"follow-up {n} of incident {i}", owner=rng.choice(("ana", "bo")),
                          due=due)
        inc.action_items.append(item.with_status(rng.choice(("open", "done", "wont_do"))))
    for w in range(minutes * 6):
        inc.samples.append(SampleRollup(
            at=start + timedelta(seconds=10 * w), samples=10, conn_min=40, conn_mean=60.0,
            conn_max=rng.randrange(40, 100), max_connections=100, usable=97,
            query_p50_ms=2.0, query_p95_ms=rng.uniform(3, 300), query_max_ms=400.0,
            connect_max_ms=12.0, refused=0, conn_last=50,
        ))  # fmt: skip
    return inc


def generate(directory: Path, count: int, seed: int = 23) -> None:
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        inc = make(i, rng)
        Store.create(directory / f"{inc.id}-{i}.toml", inc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--dir", type=Path, help="reuse (or make) the sessions here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warroom-history-") as tmp:
        directory = args.dir or Path(tmp) / "incidents"
        if not (directory.is_dir() and any(directory.glob("*.toml"))):
            began = time.perf_counter()
            generate(directory, args.sessions)
            print(f"generated {args.sessions} sessions in {time.perf_counter() - began:.1f} s")
        files = list(directory.glob("*.toml"))
        size = sum(p.stat().st_size for p in files)
        print(f"{len(files)} sessions, {size / 2**20:.0f} MiB, {MONTHS} months, in {directory}")
        env = dict(os.environ, WARROOM_HOME=str(directory), WARROOM_SHARE="")
        for fmt in ("table", "json"):
            times = []
            for _ in range(args.runs):
                began = time.perf_counter()
                subprocess.run([sys.executable, "-m", "warroom", "history", "--format", fmt],
                               env=env, check=True, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - began)
            print(f"warroom history --format {fmt} (new process each run, {args.runs} runs): "
                  f"median {statistics.median(times):.2f} s  max {max(times):.2f} s  "
                  "(target <= 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
