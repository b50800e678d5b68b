"""Helpers for the `warroom serve` tests and bench: sessions, a real server process, Chromium.

The server runs as the user runs it (``python -m warroom serve``) in a child process, or, for
records the file cannot express yet (schema-2 rollups), in a thread of the test process over a
Feed the test publishes into. Chromium is Debian's, driven by selenium through the system
chromedriver; nothing is downloaded (Selenium Manager is never asked).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.sessions.model import (
    Incident,
    Kind,
    SampleRollup,
    Source,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.store import Store

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
)
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "</script><script>alert(2)</script>"
_START = re.compile(r"http://(?P<host>[^/\s]+):(?P<port>\d+)/")


@dataclass(frozen=True, slots=True)
class Schema2Rollup(SampleRollup):
    """The schema-2 fields the page reads (by getattr), as main's SampleRollup names them, so
    these tests run on a branch whose model is still schema 1."""

    usable: int | None = None
    conn_last: int | None = None
    top_apps: tuple[tuple[str, int], ...] = ()


def schema2_rollup(**values: Any) -> SampleRollup:
    """A rollup with schema-2 figures: the model's own once it has them, else the stand-in."""
    have = {f.name for f in fields(SampleRollup)}
    kind = SampleRollup if {"usable", "conn_last", "top_apps"} <= have else Schema2Rollup
    return kind(**values)


# -- sessions ---------------------------------------------------------------------------------


def storm_incident(now: datetime | None = None, minutes: int = 40) -> Incident:
    """A connection storm ``minutes`` long ending now: ramp, saturation, refusals, the fix."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    start = now - timedelta(minutes=minutes)
    incident = Incident.create(
        "orders DB refusing connections", start, severity="SEV1",
        target=Target(dsn="host=db1 dbname=orders user=monitor"),
    )
    incident.summary = (
        "Checkout and order history fail for some customers: the orders database is refusing "
        "new connections."
    )
    incident.impact = (
        "About 30% of checkout attempts failed with an error page between the first alert and "
        "the pool fix. No data lost."
    )
    usable, floor = 97, 20
    for i in range(minutes * 6):
        at = start + timedelta(seconds=10 * (i + 1))
        m = (i + 1) / 6
        if m < 5:
            conn = floor + int(m)
        elif m < 18:
            conn = min(usable, floor + int((m - 5) * 7))
        elif m < 28:
            conn = usable
        else:
            conn = max(floor, usable - int((m - 28) * 30))
        saturated = conn >= usable
        p95 = 2.0 + (conn - floor) * 0.6 + (700.0 if saturated else 0.0) + (i % 5) * 3
        incident.samples.append(
            SampleRollup(
                at=at, samples=10, conn_min=max(conn - 3, 0), conn_mean=conn - 1.5,
                conn_max=conn, max_connections=100, query_p50_ms=p95 / 3,
                query_p95_ms=round(p95, 1), query_max_ms=p95 * 1.5,
                refused=(3 + i % 4) if saturated else 0,
            )
        )

    def entry(minute: float, text: str, kind: Kind, author: str = "ana",
              source: Source = Source.CLI) -> None:
        incident.timeline.append(TimelineEntry(
            at=start + timedelta(minutes=minute), text=text, kind=kind, author=author,
            source=source))

    entry(12, "saturation 80% (warning): 80 of 97 usable slots", Kind.ALERT, "", Source.AUTO)
    entry(12.5, "query p95 120 ms (warning)", Kind.ALERT, "", Source.AUTO)
    entry(14, "pager: checkout error rate > 5%", Kind.DETECTION)
    entry(15, "saturation 95% (critical): 95 of 97 usable slots", Kind.ALERT, "", Source.AUTO)
    entry(16, "refused: new connections turned away (53300)", Kind.ALERT, "", Source.AUTO)
    entry(16.2, "query p95 900 ms (critical)", Kind.ALERT, "", Source.AUTO)
    entry(17, "suspected network latency between app and db; checked, it was fine",
          Kind.MISLEADING, "ben")
    entry(19, "shop-api holds 80 of 97 slots, most idle in transaction", Kind.NOTE, "ana")
    entry(20, "paged the database team", Kind.ESCALATION, "ana")
    entry(21, "status: investigating -> identified", Kind.STATUS, "ana")
    entry(22, "decided to cap shop-api's pool at 20 rather than raise max_connections",
          Kind.DECISION, "chen")
    entry(27, "shop-api pool max 200 -> 20, rolling restart\nstarted with pod 1 of 6",
          Kind.ACTION, "chen")
    entry(29, "saturation back under 80% (cleared)", Kind.ALERT, "", Source.AUTO)
    entry(31, "status: identified -> monitoring", Kind.STATUS, "ana")
    entry(33, "checkout error rate back to baseline", Kind.METRIC, "ben")
    incident.detected_at = start + timedelta(minutes=12)
    incident.identified_at = start + timedelta(minutes=21)
    incident.mitigated_at = start + timedelta(minutes=31)
    incident.status = Status.MONITORING
    return incident


def write_session(path: Path, incident: Incident) -> Path:
    """Store ``incident`` as a session file (0600, durable), as ``warroom new`` would."""
    Store.create(path, incident)
    return path


def small_incident(title: str = "orders DB refusing connections") -> Incident:
    now = datetime.now(UTC).replace(microsecond=0)
    incident = Incident.create(title, now - timedelta(minutes=5), severity="SEV2")
    incident.timeline.append(TimelineEntry(
        at=now - timedelta(minutes=4), text="first look: pool full", kind=Kind.NOTE,
        author="ana", source=Source.CLI))
    incident.samples.append(SampleRollup(
        at=now - timedelta(seconds=20), samples=10, conn_max=40, max_connections=50,
        query_p95_ms=12.5, refused=0))
    return incident


# -- the real server in a child process ---------------------------------------------------------


@dataclass
class ServerProcess:
    """``warroom serve`` as a child; ``url`` is its page. ``restart`` keeps the same port."""

    args: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[str] | None = None
    port: int = 0
    first_lines: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, port: int = 0, timeout: float = 20.0) -> ServerProcess:
        bind = f"127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "serve", *self.args, "--bind", bind],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line or self.proc.poll() is not None:
                break
        match = _START.search(line)
        if not match:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError(f"warroom serve did not start: {line!r} {err!r}")
        self.port = int(match["port"])
        self.first_lines = (line,)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self.proc = None
        return code

    def restart(self, sig: int = signal.SIGKILL) -> None:
        port = self.port
        self.stop(sig)
        self.start(port)


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WARROOM_DEBUG", None)
    env.update({"WARROOM_HOME": str(home), "WARROOM_AUTHOR": "tester", "PYTHONUNBUFFERED": "1"})
    return env


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args], capture_output=True, text=True,
        env=cli_env(home), timeout=60,
    )


# -- the server in a thread, over a Feed the test controls ----------------------------------------


class ThreadServer:
    """make_app() on a private event loop in a thread; ``publish`` swaps the incident."""

    def __init__(self, incident: Incident, token: str | None = None) -> None:
        from warroom.web.access import Access

        self.incident = incident
        self.access = Access(token)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.feed: Any = None
        self._runner: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        from aiohttp import web

        from warroom.web.feed import Feed
        from warroom.web.server import make_app

        self.feed = Feed(self.incident)
        self._runner = web.AppRunner(make_app(self.feed, self.access), access_log=None,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start(self) -> ThreadServer:
        self._thread.start()
        assert self._ready.wait(10), "thread server did not start"
        return self

    def publish(self, incident: Incident) -> None:
        done = threading.Event()

        def swap() -> None:
            self.feed.publish(incident)
            done.set()

        self.loop.call_soon_threadsafe(swap)
        assert done.wait(5)

    def stop(self) -> None:
        async def down() -> None:
            self.feed.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(down(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# -- Chromium -----------------------------------------------------------------------------------


class NoBrowser(Exception):
    """Chromium, chromedriver or selenium is missing."""


@contextlib.contextmanager
def chrome(width: int = 1280, height: int = 800, javascript: bool = True) -> Iterator[Any]:
    """A headless Chromium (fresh profile, offline), closed and its profile removed after."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        raise NoBrowser(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium "
                        "chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise NoBrowser(f"selenium is not installed: {exc}") from None
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager never goes online
    profile = tempfile.mkdtemp(prefix="warroom-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_window_size(width, height)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_dom(driver: Any, check: Callable[[Any], Any], timeout: float = 3.0,
             what: str = "the page") -> Any:
    """Poll the DOM until ``check(driver)`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check(driver)
        except Exception as exc:  # stale elements while the script replaces nodes
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not show within {timeout:g} s (last: {last!r})")
        time.sleep(0.05)


def text_of(driver: Any, element_id: str) -> str:
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;",
        element_id)


def timeline_texts(driver: Any) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#timeline .entry .text')].map(e => e.textContent)")


# -- event-stream clients in the test process -----------------------------------------------------


@dataclass
class Viewer:
    """What one /events client has seen: note ids in timeline events, and when each arrived."""

    seen: set[str]
    arrived: dict[str, float]
    events: int = 0
    connected: bool = False
    error: str | None = None


async def follow_events(url: str, viewer: Viewer, stop: asyncio.Event) -> None:
    """Read /events until ``stop``; every entry id of every timeline event lands in ``viewer``."""
    import json

    import aiohttp

    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout, read_bufsize=1 << 22) as client:
        try:
            async with client.get(url + "events") as response:
                viewer.connected = response.status == 200
                name, data = "", ""
                reader = asyncio.ensure_future(stop.wait())
                while not stop.is_set():
                    line_task = asyncio.ensure_future(response.content.readline())
                    done, _ = await asyncio.wait({line_task, reader},
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if line_task not in done:
                        line_task.cancel()
                        break
                    raw = line_task.result()
                    if not raw:
                        break
                    line = raw.decode("utf-8").rstrip("\n")
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data = line[6:]
                    elif line == "":
                        viewer.events += 1
                        if name == "timeline":
                            now = time.monotonic()
                            for entry in json.loads(data)["entries"]:
                                if entry["id"] not in viewer.seen:
                                    viewer.seen.add(entry["id"])
                                    viewer.arrived[entry["id"]] = now
                        name, data = "", ""
                reader.cancel()
        except (aiohttp.ClientError, OSError) as exc:
            viewer.error = repr(exc)


def open_live_without_sideways_scroll(driver: Any, url: str) -> None:
    """Load the page until it is live, and check nothing sticks out at this window's width."""
    driver.get(url)
    wait_dom(driver, lambda d: text_of(d, "live") == "live", what="the live badge")
    inner = driver.execute_script("return window.innerWidth")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= inner, f"page is {scroll}px wide in a {inner}px window"
