"""`warroom serve` with several servers (issue 12): the strip, the small multiples, the live feed.

The session files are written through the Store one window at a time, as the dashboard does;
the browser tests run the real `warroom serve` over them and a real headless Chromium.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support.servers import three_server_header, three_server_windows, write_three_servers
from support.web import (
    ServerProcess,
    ThreadServer,
    cli_env,
    open_live_without_sideways_scroll,
    small_incident,
    storm_incident,
    text_of,
    wait_dom,
)

from warroom.sessions.model import SampleRollup
from warroom.sessions.store import Store, load
from warroom.web import page, view
from warroom.web.view import encode

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HOSTILE_NAME = "<b>x</b>"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def _tags(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


# -- the page's content, without a browser --------------------------------------------------


def test_a_single_server_page_is_unchanged() -> None:
    # Rendered by the page before it knew several servers (same record, same clock).
    html = page.render(view.build(storm_incident(NOW), NOW), NOW)
    assert html == (FIXTURES / "golden-single-server-page.html").read_text()
    assert "servers" not in view.figures(storm_incident(NOW), NOW)


def test_figures_per_server_in_watch_order(tmp_path: Path) -> None:
    incident = write_three_servers(tmp_path / "s.toml", start=NOW - timedelta(minutes=30),
                                   third=HOSTILE_NAME, resolved=False)
    figures = view.figures(incident, NOW)
    rows = figures["servers"]
    assert [r["name"] for r in rows] == ["primary", "replica-1", HOSTILE_NAME]
    assert [r["roles"] for r in rows] == ["primary", "replica", "replica → primary"]
    primary, replica, third = rows
    assert (primary["connections"], primary["usable"], primary["saturation"]) == (20, 97, 21)
    assert replica["lag"] == "4 kB, 0 s" and replica["repl_state"] == "streaming"
    assert third["lag"] is None and third["role"] == "primary"
    assert figures["as_of"] == view.iso(NOW - timedelta(seconds=10))
    for row in rows:
        assert set(row["charts"]) == {"connections", "latency", "refusals", "lag"}
        for svg in row["charts"].values():
            assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
            # Numbers only: no server name (nor any record text) reaches a chart.
            assert re.fullmatch(r"[\w\s<>=\"/.:,%\-#]*", svg)
            assert "replica-1" not in svg and "primary" not in svg and "<b>" not in svg
    assert "<path" in replica["charts"]["lag"] and "<rect" in primary["charts"]["refusals"]
    assert "<path" in third["charts"]["lag"]  # 8 kB while it was a replica
    # The live feed carries it all, and no raw "<" of the hostile name.
    data = encode(figures)
    assert "\\u003cb\\u003ex" in data and "<b>" not in data


def test_server_state_rule() -> None:
    until = NOW - timedelta(seconds=10)
    assert view.server_state("up", until, NOW, False) == "up"
    assert view.server_state("partial", until, NOW, False) == "partial"
    assert view.server_state("down", until, NOW, False) == "DOWN"
    old = NOW - timedelta(seconds=view.STALE_AFTER_S + 1)
    assert view.server_state("up", old, NOW, False) == "stale"
    assert view.server_state("down", old, NOW, False) == "stale"
    assert view.server_state("down", old, NOW, True) == "DOWN"  # resolved: nobody records
    assert view.server_state("up", None, NOW, False) == "stale"


def _story(
    start: datetime, windows: int, stale_from: int | None = None
) -> list[list[SampleRollup]]:
    """The three servers' windows; replica-1 writes nothing from window ``stale_from`` on."""
    out = three_server_windows(start, HOSTILE_NAME, windows)
    if stale_from is not None:
        out = [[r for r in w if not (i >= stale_from and r.server == "replica-1")]
               for i, w in enumerate(out)]
    return out


def _write(path: Path, start: datetime, windows: list[list[SampleRollup]]) -> Store:
    store = Store.create(path, three_server_header(start, HOSTILE_NAME))
    for window in windows:
        store.append_samples(window)
    return store


def test_the_strip_escapes_names_and_marks_down_and_stale(tmp_path: Path) -> None:
    # 21 minutes in the third server is down; replica-1 stopped writing 5 minutes ago.
    start = NOW - timedelta(minutes=21, seconds=30)
    _write(tmp_path / "s.toml", start, _story(start, 129, stale_from=99))
    incident = load(tmp_path / "s.toml").incident
    html = page.render(view.build(incident, NOW), NOW)
    assert "b" not in _tags(html)
    assert "<td class=\"name\">&lt;b&gt;x&lt;/b&gt;</td>" in html
    assert '<h3 class="server-name">&lt;b&gt;x&lt;/b&gt;</h3>' in html
    assert html.count('<tr class="server ') == 3
    assert 'id="server-0" data-status="up"' in html and "server state-up" in html
    assert '<tr class="server state-stale" id="server-1"' in html
    assert '<tr class="server state-DOWN" id="server-2"' in html
    assert html.count('class="chart-box" id="chart-') == 12
    assert 'data-servers="3"' in html and 'data-stale-after="30.0"' in html
    # No cards of one server on a page of several.
    assert 'id="fig-connections"' not in html


# -- in Chromium -----------------------------------------------------------------------------


def _rows(driver: Any) -> list[list[str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#servers-rows tr')].map("
        "tr => [...tr.children].map(td => td.textContent))")


def _states(driver: Any) -> list[str]:
    return [row[-1] for row in _rows(driver)]


def _chart_sets(driver: Any) -> list[tuple[str, int]]:
    return [tuple(x) for x in driver.execute_script(
        "return [...document.querySelectorAll('#multiples .server-charts')].map(b => "
        "[b.querySelector('.server-name').textContent, b.querySelectorAll('svg.chart').length])")]


@pytest.fixture
def three(tmp_path: Path) -> tuple[Path, Path, datetime]:
    """A session still being written: the third server down at the end, replica-1 stale.

    The last windows end ten minutes in the future, so the rows that are fresh cannot go
    stale while a slow machine runs the test; replica-1's last window ended 15 minutes ago,
    and age only grows.
    """
    pytest.importorskip("aiohttp")
    home = tmp_path / "incidents"
    home.mkdir()
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    start = end - timedelta(seconds=1290)  # 129 windows: the third server went down at 20 min
    path = home / "three.toml"
    _write(path, start, _story(start, 129, stale_from=39))
    return home, path, end


def test_three_servers_in_chromium_live(three: tuple[Path, Path, datetime],
                                        open_browser: Callable[..., Any]) -> None:
    home, path, end = three
    server = ServerProcess(["--session", str(path)], cli_env(home)).start()
    try:
        browser = open_browser(width=1280, height=900)
        browser.get(server.url)
        wait_dom(browser, lambda d: text_of(d, "live") == "live", what="the live badge")
        browser.execute_script("window.__sameDocument = true")
        rows = _rows(browser)
        assert [r[0] for r in rows] == ["primary", "replica-1", HOSTILE_NAME]
        assert _states(browser) == ["up", "stale", "DOWN"]
        assert rows[2][1] == "replica"  # down before its promotion: the role it had
        assert _chart_sets(browser) == [("primary", 4), ("replica-1", 4), (HOSTILE_NAME, 4)]
        assert browser.execute_script("return document.getElementsByTagName('b').length") == 0

        # replica-1 comes back and a fourth server appears: the feed brings both, no reload.
        store = Store.open(path)
        at = end
        store.append_samples([
            SampleRollup(at=at, samples=10, conn_max=11, conn_last=11, max_connections=100,
                         usable=97, query_p95_ms=2.0, server="replica-1", role="replica",
                         lag_bytes=3 * 2**20, lag_s=4.5, repl_state="paused"),
            SampleRollup(at=at, samples=10, conn_max=3, conn_last=3, max_connections=20,
                         usable=17, server="replica-3", role="replica"),
        ])  # fmt: skip
        wait_dom(browser, lambda d: len(_rows(d)) == 4, timeout=5, what="the fourth server")
        rows = _rows(browser)
        assert rows[1][2:] == ["11 / 97 (11%)", "2 ms", "3 MB, 4.5 s (paused)", "up"]
        assert rows[3][0] == "replica-3" and rows[3][-1] == "up"
        wait_dom(browser, lambda d: len(_chart_sets(d)) == 4, what="the fourth server's charts")
        assert _chart_sets(browser)[3] == ("replica-3", 4)
        assert browser.execute_script("return window.__sameDocument === true")
        assert [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"] == []
    finally:
        server.stop()


def test_three_servers_screenshots_fit(three: tuple[Path, Path, datetime], tmp_path: Path,
                                       open_browser: Callable[..., Any]) -> None:
    """Desk and phone width; the PNGs are for a person to look at (see the test's output)."""
    home, path, _ = three
    server = ServerProcess(["--session", str(path)], cli_env(home)).start()
    try:
        for width, height in ((1280, 900), (390, 844)):
            driver = open_browser(width=width, height=height)
            open_live_without_sideways_scroll(driver, server.url)
            total = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(total + 200, 6000))
            shot = tmp_path / f"servers-{width}.png"
            assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        server.stop()


def test_javascript_off_shows_the_strip_and_charts(three: tuple[Path, Path, datetime],
                                                   open_browser: Callable[..., Any]) -> None:
    home, path, _ = three
    server = ServerProcess(["--session", str(path)], cli_env(home)).start()
    try:
        driver = open_browser(javascript=False)
        driver.get(server.url)
        assert len(driver.find_elements("css selector", "#servers-rows tr")) == 3
        assert len(driver.find_elements("css selector", "#multiples svg.chart")) == 12
        assert driver.find_element("css selector", "#server-2 td.name").text == HOSTILE_NAME
    finally:
        server.stop()


def test_a_page_of_one_server_redraws_when_the_record_names_several(
    open_browser: Callable[..., Any],
) -> None:
    # A session resumed watching several servers: the layout changes, so the page reloads.
    pytest.importorskip("aiohttp")
    incident = small_incident()
    server = ThreadServer(incident).start()
    try:
        browser = open_browser()
        browser.get(server.url)
        wait_dom(browser, lambda d: text_of(d, "live") == "live", what="the live badge")
        assert text_of(browser, "fig-connections") == "40"
        browser.execute_script("window.__sameDocument = true")
        several = incident.copy()
        at = incident.samples[-1].at + timedelta(seconds=10)
        several.samples += [SampleRollup(at=at, conn_max=n, conn_last=n, max_connections=50,
                                         server=name, role="replica")
                            for n, name in ((7, "replica-1"), (8, HOSTILE_NAME))]
        server.publish(several)
        wait_dom(browser, lambda d: len(_rows(d)) == 3, timeout=5, what="the servers strip")
        assert browser.execute_script("return window.__sameDocument === undefined")
        assert [r[0] for r in _rows(browser)] == ["(unnamed)", "replica-1", HOSTILE_NAME]
        assert text_of(browser, "fig-connections") is None
    finally:
        server.stop()
