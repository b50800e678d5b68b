"""Replay benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/bench_replay.py [--seeks N]

An 8-hour session (2,000 entries, 2,880 schema-2 rollups with every figure the panes use, the
one bench_store.py builds): the time to open `warroom replay` on it (load the file, build the
playback, first frame drawn headless at 120x40), and the time one seek takes (the live state
rebuilt from the ten minutes before the cursor), at random cursors. Targets (issue 8): open
<= 1 s, seek <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import build_big, percentile

from warroom.sessions.store import load
from warroom.tui.app import WarroomApp
from warroom.tui.playback import Playback
from warroom.tui.session import replay_session

T = TypeVar("T")


async def open_once(path: Path) -> tuple[float, float]:
    started = time.perf_counter()
    incident = load(path, lazy=True).incident
    loaded = time.perf_counter()
    app = WarroomApp(replay_session(path, incident))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        drawn = time.perf_counter()
        app.exit()
    return loaded - started, drawn - started


def timed(run: Callable[[T], object], args: Iterable[T]) -> list[float]:
    out: list[float] = []
    for arg in args:
        t = time.perf_counter()
        run(arg)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--opens", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warroom-bench-replay-") as tmp:
        path = Path(tmp) / "big.toml"
        build_big(path)
        size = path.stat().st_size
        opens = [asyncio.run(open_once(path)) for _ in range(args.opens)]
        loads = [o[0] for o in opens]
        firsts = [o[1] for o in opens]
        incident = load(path).incident
        playback = Playback(incident)
        span = (playback.end - playback.start).total_seconds()
        rng = random.Random(8)
        cursors = [playback.start + timedelta(seconds=rng.uniform(0, span))
                   for _ in range(args.seeks)]  # fmt: skip
        seeks = timed(playback.seek, cursors)
        cold: list[float] = []
        for at in cursors[: max(1, args.seeks // 10)]:
            fresh = Playback(load(path, lazy=True).incident)  # nothing decoded but its start
            cold += timed(fresh.seek, [at])
        step = timed(lambda _: playback.step(10), range(args.seeks))
    print(f"8 h session: {len(incident.samples):,} rollups, {len(incident.timeline):,} entries, "
          f"{size / 1024:.0f} KiB")
    print(f"load              median {statistics.median(loads) * 1000:8.1f} ms  "
          f"max {max(loads) * 1000:8.1f} ms")
    print(f"open to 1st frame median {statistics.median(firsts) * 1000:8.1f} ms  "
          f"max {max(firsts) * 1000:8.1f} ms  (target <= 1000 ms)")
    print(f"seek warm         p50 {percentile(seeks, 50) * 1000:8.2f} ms  "
          f"p95 {percentile(seeks, 95) * 1000:8.2f} ms  (target <= 50 ms, n={len(seeks)})")
    print(f"seek cold         p50 {percentile(cold, 50) * 1000:8.2f} ms  "
          f"p95 {percentile(cold, 95) * 1000:8.2f} ms  (target <= 50 ms, n={len(cold)}; "
          "decodes its window)")
    print(f"step 10 s         p50 {percentile(step, 50) * 1000:8.2f} ms  "
          f"p95 {percentile(step, 95) * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
