"""Replay's read of the frame at the cursor: what the backends view's worker does per move.

Run: .venv/bin/python bench/bench_replay_frames.py [--hours H]   (prints figures; asserts
nothing)

A synthetic 48 h store at 500 backends (built as bench_recorder.py builds its seek store); at
random moments, the view's read: FrameReader.moment (the store opened read-only, the seek, the
store closed: a worker thread cannot reuse another thread's connection) and the rows as the
view's Backend list; p50 / p95 / max in ms, against bench_recorder.py's bare state_at.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_recorder import T0, seek_48h

from warroom.recording.browse import FrameReader


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=48.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        p50, p95, worst, size = seek_48h(where, 500, args.hours)
        print(f"store: {args.hours:g} h at 500 backends, {size / 1024**2:.0f} MiB; bare state_at "
              f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms")
        reader = FrameReader(where / "seek-48h.sqlite")
        rng = random.Random(5)
        total = args.hours * 3600
        times = []
        for _ in range(300):
            at = T0 + timedelta(seconds=rng.uniform(0, total))
            started = time.perf_counter()
            backends = reader.moment("db1", at).backends
            times.append((time.perf_counter() - started) * 1000)
            assert backends is not None and len(backends) > 0
        times.sort()
        print(f"the view's read per cursor move (open, seek, close, rows as Backend): p50 "
              f"{statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms, "
              f"max {times[-1]:.1f} ms")


if __name__ == "__main__":
    main()
