"""`warroom serve` benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/bench_web.py [--notes N] [--seconds S]

- Server render: the page for an 8 h session (2,880 rollups, 2,000 entries), in process (view
  plus HTML) and as a GET against the real server; the session's load time beside it.
- First paint in headless Chromium (Debian's chromium + chromedriver): DOMContentLoaded and
  first contentful paint, for a 40-minute storm and for the 8 h session.
- Note to browser: a note appended (fsynced) in this process until the open page shows it, p50
  and p99 over N notes, on the storm session and on the 8 h one.
- Server CPU and memory while a writer adds a note every 2 s and a rollup every 10 s, with 1 and
  with 50 event-stream viewers (aiohttp clients in this process).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.web import (  # noqa: E402
    ServerProcess,
    Viewer,
    chrome,
    cli_env,
    follow_events,
    storm_incident,
    write_session,
)

from warroom.sessions.model import Incident, Kind, SampleRollup, Source, TimelineEntry  # noqa: E402
from warroom.sessions.store import Store, load  # noqa: E402
from warroom.sessions.times import utcnow  # noqa: E402
from warroom.web import page, view  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def eight_hours() -> Incident:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=8)
    incident = Incident.create("orders DB refusing connections (8 h)", start, severity="SEV1")
    incident.summary = "A long one: eight hours of rollups and two thousand entries."
    incident.samples = [
        SampleRollup(at=start + timedelta(seconds=10 * (i + 1)), samples=10,
                     conn_min=40, conn_mean=60.0, conn_max=40 + i % 57, max_connections=100,
                     query_p50_ms=2.0, query_p95_ms=5.0 + (i % 90), query_max_ms=200.0,
                     refused=i % 4 if 1000 < i < 1400 else 0)
        for i in range(2880)
    ]
    kinds = [Kind.NOTE, Kind.ACTION, Kind.ALERT, Kind.ALERT, Kind.DECISION, Kind.METRIC]
    incident.timeline = [
        TimelineEntry(at=start + timedelta(seconds=14 * i), text=f"entry {i}: " + "x" * 60,
                      kind=kinds[i % len(kinds)], author="ana", source=Source.CLI)
        for i in range(2000)
    ]
    return incident


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def render_figures(path: Path, server: ServerProcess) -> None:
    incident = load(path).incident
    loads = timed(lambda: load(path), 5)
    now = utcnow()
    builds = timed(lambda: view.build(incident, now), 10)
    state = view.build(incident, now)
    html = page.render(state, now)
    renders = timed(lambda: page.render(state, now), 10)
    import urllib.request

    gets = timed(lambda: urllib.request.urlopen(server.url, timeout=30).read(), 10)
    print("server render, 8 h session (2,880 rollups, 2,000 entries):")
    print(f"  load session file      median {statistics.median(loads):7.1f} ms")
    print(f"  build view (+ charts)  median {statistics.median(builds):7.1f} ms")
    print(f"  render HTML            median {statistics.median(renders):7.1f} ms  "
          f"({len(html) / 1024:.0f} KiB)")
    print(f"  GET / on the server    median {statistics.median(gets):7.1f} ms  "
          f"p99 {percentile(gets, 99):.1f} ms")


def first_paint(label: str, url: str, loads: int = 5) -> None:
    dcl, fcp = [], []
    with chrome() as driver:
        for _ in range(loads):
            driver.get("about:blank")
            driver.get(url)
            timing = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                "return [n.domContentLoadedEventEnd, p ? p.startTime : null];")
            dcl.append(timing[0])
            if timing[1] is not None:
                fcp.append(timing[1])
    fcp_text = f"{statistics.median(fcp):6.0f} ms" if fcp else "   n/a"
    print(f"first paint, {label}: DOMContentLoaded median {statistics.median(dcl):6.0f} ms, "
          f"first contentful paint median {fcp_text}  ({loads} loads)")


OBSERVE = """
window.__seen = {};
const seen = () => {
  for (const e of document.querySelectorAll('#timeline .entry .text')) {
    const m = /^bench (\\d+)$/.exec(e.textContent);
    if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = Date.now();
  }
};
new MutationObserver(seen).observe(document.getElementById('timeline'),
                                   {childList: true, subtree: true});
"""


def note_latency(label: str, path: Path, url: str, notes: int) -> None:
    store = Store.open(path)
    written: dict[str, float] = {}
    with chrome() as driver:
        driver.get(url)
        deadline = time.monotonic() + 10
        while driver.execute_script("return document.getElementById('live').textContent") != (
                "live") and time.monotonic() < deadline:
            time.sleep(0.05)
        driver.execute_script(OBSERVE)
        for i in range(notes):
            store.append_entry(TimelineEntry(at=utcnow(), text=f"bench {i}", source=Source.CLI))
            written[str(i)] = time.time() * 1000  # acknowledged: fsynced
            time.sleep(random.uniform(0.3, 0.7))  # off the server's poll phase
        deadline = time.monotonic() + 10
        seen: dict[str, float] = {}
        while time.monotonic() < deadline:
            seen = driver.execute_script("return window.__seen")
            if len(seen) >= notes:
                break
            time.sleep(0.1)
    lat = [seen[k] - written[k] for k in written if k in seen]
    lost = notes - len(lat)
    print(f"note to browser, {label}: p50 {percentile(lat, 50):5.0f} ms, "
          f"p99 {percentile(lat, 99):5.0f} ms, max {max(lat):5.0f} ms over {len(lat)} notes"
          + (f" ({lost} never shown)" if lost else ""))


def load_figures(path: Path, server: ServerProcess, viewers: int, seconds: float) -> None:
    assert server.proc is not None
    proc = psutil.Process(server.proc.pid)
    store = Store.open(path)

    async def main() -> tuple[float, int, int]:
        stop = asyncio.Event()
        seen = [Viewer(set(), {}) for _ in range(viewers)]
        clients = [asyncio.create_task(follow_events(server.url, v, stop)) for v in seen]
        await asyncio.sleep(2.0)
        cpu0, wall0 = proc.cpu_times(), time.monotonic()
        n = 0
        peak = proc.memory_info().rss
        while time.monotonic() - wall0 < seconds:
            await asyncio.to_thread(store.append_entry, TimelineEntry(
                at=utcnow(), text=f"load {n}", source=Source.CLI))
            if n % 5 == 4:
                await asyncio.to_thread(store.append_samples, [SampleRollup(
                    at=utcnow(), samples=10, conn_max=60, max_connections=100,
                    query_p95_ms=20.0)])
            n += 1
            await asyncio.sleep(2.0)
            peak = max(peak, proc.memory_info().rss)
        cpu1, wall1 = proc.cpu_times(), time.monotonic()
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*clients)
        used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        return 100 * used / (wall1 - wall0), peak, sum(len(v.seen) for v in seen)

    cpu, peak, _ = asyncio.run(main())
    print(f"server with {viewers:2d} viewer(s), a note every 2 s, a rollup every 10 s: "
          f"CPU {cpu:5.1f} % of one core, RSS peak {peak / 2**20:5.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warroom-bench-web-") as tmp:
        home = Path(tmp)
        storm = write_session(home / "storm.toml", storm_incident())
        long = write_session(home / "long.toml", eight_hours())
        env = cli_env(home)
        big = ServerProcess(["--session", str(long)], env).start()
        small = ServerProcess(["--session", str(storm)], env).start()
        try:
            render_figures(long, big)
            first_paint("40 min storm (240 rollups, 15 entries)", small.url)
            first_paint("8 h session (2,880 rollups, 2,000 entries)", big.url)
            note_latency("storm session", storm, small.url, args.notes)
            note_latency("8 h session", long, big.url, max(args.notes // 2, 10))
            big.stop()
            load_figures(storm, small, 1, args.seconds)
            load_figures(storm, small, 50, args.seconds)
        finally:
            small.stop()
            big.stop()


if __name__ == "__main__":
    main()
