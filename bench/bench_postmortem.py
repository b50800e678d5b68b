"""Draft render time for a long incident: 2,000 timeline entries and 8 h of 10 s rollups.

Prints figures; asserts nothing. Target: render <= 100 ms.

    .venv/bin/python bench/bench_postmortem.py [--runs N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    Roles,
    SampleRollup,
    Target,
    TimelineEntry,
)
from warroom.sessions.postmortem import render

ENTRIES = 2_000
ROLLUPS = 2_880  # 8 h of 10-second windows
START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def long_incident(seed: int = 7) -> Incident:
    rng = random.Random(seed)
    inc = Incident.create("Connection storm on the orders cluster", START, severity="SEV1",
                          target=Target(dsn="postgresql://warroom@db1:5432/orders"))
    inc.roles = Roles(commander="alice", scribe="bob", comms="carol")
    inc.impact = "Checkout failed for most users.\n\nRetries doubled the load."
    inc.root_cause = "The pool's max_size was raised to 500 per host during a deploy."
    kinds = list(Kind)
    texts = [
        "pg_stat_activity: 187 idle in transaction from app=`orders-api`",
        "# restarted pgbouncer\n- pool_size back to 50\n1. watching",
        "<b>suspected</b> the network *again*; [ping](http://x) looked fine",
        "SELECT count(*) FROM pg_locks WHERE NOT granted; -- 42 rows",
    ]
    # Written out of order, as backdated notes are, so the sort does real work.
    for _ in range(ENTRIES):
        at = START + timedelta(seconds=rng.randrange(8 * 3600))
        inc.timeline.append(TimelineEntry(at=at, text=rng.choice(texts), kind=rng.choice(kinds),
                                          author=rng.choice(["alice", "bob", ""])))
    inc.set_key_time("detected_at", START + timedelta(minutes=7))
    inc.set_key_time("mitigated_at", START + timedelta(hours=6))
    inc.set_key_time("resolved_at", START + timedelta(hours=8))
    for i in range(ROLLUPS):
        down = 1200 <= i < 1260 or rng.random() < 0.01
        inc.samples.append(SampleRollup(
            at=START + timedelta(seconds=10 * i), samples=10,
            status="down" if down else "up",
            conn_max=None if down else rng.randrange(40, 200), max_connections=200,
            query_p95_ms=None if down else rng.uniform(1, 300),
            query_max_ms=None if down else rng.uniform(1, 900),
            connect_max_ms=None if down else rng.uniform(2, 50),
            refused=rng.randrange(3) if i % 7 == 0 else 0,
        ))
    for n in range(12):
        inc.action_items.append(ActionItem(f"Follow-up {n}", owner="dave", due=date(2026, 12, 1)))
    return inc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    incident = long_incident()
    render(incident)  # warm caches (regex compilation, zoneinfo)
    timings = []
    for _ in range(args.runs):
        began = time.perf_counter()
        draft = render(incident)
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    print(f"render: {ENTRIES} entries, {ROLLUPS} rollups, {len(draft):,} chars, {args.runs} runs")
    print(f"  median {statistics.median(timings):.1f} ms   "
          f"p90 {timings[int(len(timings) * 0.9) - 1]:.1f} ms   "
          f"max {timings[-1]:.1f} ms   (target <= 100 ms)")


if __name__ == "__main__":
    main()
