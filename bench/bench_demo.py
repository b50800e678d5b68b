"""How long `warroom demo` makes a user wait: sandbox up + schema + generators, and teardown.

Run: .venv/bin/python bench/bench_demo.py   (prints one line per scenario; nothing asserted)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from warroom.drill.runner import DrillRun
from warroom.drill.scenarios import SCENARIOS


def main() -> None:
    with tempfile.TemporaryDirectory() as markers:
        for name, scenario in SCENARIOS.items():
            started = time.perf_counter()
            run = DrillRun(scenario, marker_dir=Path(markers)).start()
            ready = time.perf_counter() - started
            started = time.perf_counter()
            run.close()
            down = time.perf_counter() - started
            print(f"{name:<6} ready in {ready:5.2f} s   torn down in {down:5.2f} s")


if __name__ == "__main__":
    main()
