"""RSS of the dashboard after 24 h of 1 Hz samples pushed through its data path, headless.

Each sample goes through ``WarroomApp.feed`` (series, alerts, rollups appended to the session
file with fsync, pane views) inside ``App.run_test()``, and the app gets to render every
``--render-every`` samples, so the compositor's caches are as full as a live run makes them.
The load has a connection storm (saturation, refused probes, slow queries) for 5 minutes
every 2 hours, so alerts land on the timeline as they would. Prints one JSON object.

    .venv/bin/python bench/tui_day.py [--samples 86400] [--render-every 600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from tui.tui_support import T0, Clock, new_store, sample

from warroom.collectors.sample import PgSample
from warroom.sessions.recorder import Recorder
from warroom.tui.app import WarroomApp

STORM_EVERY_S = 7200
STORM_FOR_S = 300
MAX_CONNECTIONS = 150  # 100 idle clients are 68% of the usable slots: no alert


def day_sample(i: int) -> PgSample:
    """Second ``i`` of the day: a wobbling idle load, and a storm now and then."""
    at = T0 + timedelta(seconds=i)
    if i % STORM_EVERY_S < STORM_FOR_S:
        return sample(
            at,
            total=144,
            max_connections=MAX_CONNECTIONS,
            apps=(("shop-api", 130), ("billing", 10), ("psql", 4)),
            query_ms=400.0 + (i * 37 % 300),
            waiting=8,
            probe_refused=True,  # the probe result holds until the next probe, 5 s on
        )
    return sample(
        at,
        total=100 + (i * 7919 % 5),
        max_connections=MAX_CONNECTIONS,
        apps=tuple((f"idle-{k}", 14 + (i + k) % 3) for k in range(7)),
        query_ms=0.2 + (i * 31 % 17) / 100,
    )


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


async def feed_day(samples: int, render_every: int, size: tuple[int, int]) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="warroom-bench-day-") as tmp:
        store = new_store(Path(tmp))
        clock = Clock(T0)
        app = WarroomApp(Recorder(store), clock=clock, author="bench")
        hourly: list[float] = []
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            before = rss_mb()
            cpu0, t0 = time.process_time(), time.perf_counter()
            for i in range(samples):
                clock.now = T0 + timedelta(seconds=i)
                app.feed(day_sample(i))
                if i % render_every == render_every - 1:
                    await pilot.pause()
                if i % 3600 == 3599:
                    hourly.append(round(rss_mb(), 1))
            await pilot.pause()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
            after = rss_mb()
        # Counted once the app has closed its Recorder, which writes what is still queued.
        entries = len(store.incident.timeline)
        rollups = len(store.incident.samples)
        file_kb = store.path.stat().st_size / 1024 if store.path.exists() else 0.0
    return {
        "samples": samples,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_hourly_mb": hourly,
        "feed_cpu_us": round(cpu / max(samples, 1) * 1e6, 1),
        "wall_s": round(wall, 1),
        "timeline_entries": entries,
        "rollups": rollups,
        "session_kb": round(file_kb, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=86_400)
    ap.add_argument("--render-every", type=int, default=600)
    ap.add_argument("--size", default="120x40")
    args = ap.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    result = asyncio.run(feed_day(args.samples, args.render_every, (cols, rows)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
