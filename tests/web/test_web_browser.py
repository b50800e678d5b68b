"""The page in a real headless Chromium: live notes, status, restarts, hostile text."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.web import (
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    ServerProcess,
    ThreadServer,
    run_cli,
    schema2_rollup,
    small_incident,
    text_of,
    timeline_texts,
    wait_dom,
)

from warroom.sessions.model import Kind, Source, TimelineEntry

pytest.importorskip("aiohttp")


def _live(driver: Any) -> bool:
    return text_of(driver, "live") == "live"


def _no_alert(driver: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    raise AssertionError(f"a script ran: alert({text!r})")


def _severe_logs(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def test_page_shows_the_incident(server: ServerProcess, browser: Any) -> None:
    browser.get(server.url)
    assert text_of(browser, "title") == "orders DB refusing connections"
    assert text_of(browser, "severity") == "SEV1"
    assert text_of(browser, "status") == "monitoring"
    assert text_of(browser, "clock").startswith("T+00:4")
    wait_dom(browser, _live, what="the live badge")
    assert "shop-api pool max 200 -> 20, rolling restart\nstarted with pod 1 of 6" in (
        timeline_texts(browser))
    assert text_of(browser, "fig-usable") == "100"  # schema 1: max_connections
    assert browser.execute_script("return document.querySelectorAll('svg.chart').length") == 3
    assert _severe_logs(browser) == []


def test_clock_ticks_in_the_browser(server: ServerProcess, browser: Any) -> None:
    browser.get(server.url)
    first = text_of(browser, "clock")
    wait_dom(browser, lambda d: text_of(d, "clock") != first, timeout=3, what="a clock tick")


def test_a_note_from_another_shell_appears_without_reload(
    server: ServerProcess, browser: Any, home: Path, session_file: Path
) -> None:
    browser.get(server.url)
    wait_dom(browser, _live, what="the live badge")
    browser.execute_script("window.__sameDocument = true")
    result = run_cli(home, "note", "--session", str(session_file), "--kind", "action",
                     "killed idle-in-tx backends of shop-api")
    assert result.returncode == 0, result.stderr
    wait_dom(browser, lambda d: "killed idle-in-tx backends of shop-api" in timeline_texts(d),
             timeout=3, what="the new note")
    assert timeline_texts(browser)[0] == "killed idle-in-tx backends of shop-api"  # newest first
    assert browser.execute_script("return window.__sameDocument === true")  # no reload


def test_a_status_change_updates_the_header(
    server: ServerProcess, browser: Any, home: Path, session_file: Path
) -> None:
    browser.get(server.url)
    wait_dom(browser, _live, what="the live badge")
    result = run_cli(home, "status", "--session", str(session_file), "resolved")
    assert result.returncode == 0, result.stderr
    wait_dom(browser, lambda d: text_of(d, "status") == "resolved", timeout=3,
             what="the resolved status")
    assert "resolved" in browser.title
    assert text_of(browser, "time-resolved_at").endswith("UTC")
    stopped = text_of(browser, "clock")
    assert "so far" not in text_of(browser, "dur-resolved_at")
    wait_dom(browser, lambda d: text_of(d, "clock") == stopped, timeout=3)  # the clock stopped


def test_kind_filter_in_the_browser(server: ServerProcess, browser: Any) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(server.url)
    wait_dom(browser, _live, what="the live badge")
    Select(browser.find_element("id", "kind")).select_by_value("decision")
    wait_dom(browser, lambda d: len(timeline_texts(d)) == 1, what="the filtered timeline")
    assert "cap shop-api's pool at 20" in timeline_texts(browser)[0]
    assert browser.current_url.endswith("?kind=decision")
    folds = browser.execute_script("return document.querySelectorAll('#timeline details').length")
    assert folds == 0


def test_the_page_catches_up_after_a_server_restart(
    server: ServerProcess, browser: Any, home: Path, session_file: Path
) -> None:
    browser.get(server.url)
    wait_dom(browser, _live, what="the live badge")
    browser.execute_script("window.__sameDocument = true")
    port = server.port
    server.stop(signal.SIGKILL)
    wait_dom(browser, lambda d: text_of(d, "live") == "reconnecting…", timeout=5,
             what="the reconnecting badge")
    result = run_cli(home, "note", "--session", str(session_file), "written while it was down")
    assert result.returncode == 0, result.stderr
    server.start(port)
    wait_dom(browser, lambda d: "written while it was down" in timeline_texts(d), timeout=10,
             what="the note written during the restart")
    assert _live(browser)
    assert browser.execute_script("return window.__sameDocument === true")


def test_hostile_text_renders_as_text(home: Path, browser: Any) -> None:
    incident = small_incident(f"orders {HOSTILE_IMG}")
    incident.summary = HOSTILE_SCRIPT
    incident.timeline.append(TimelineEntry(
        at=incident.started_at + timedelta(minutes=1), text=f"note {HOSTILE_IMG}",
        author=HOSTILE_SCRIPT, source=Source.CLI))
    last = incident.samples[-1]
    incident.samples = [schema2_rollup(
        at=last.at, conn_max=40, max_connections=50, usable=47,
        top_apps=((HOSTILE_IMG, 30), (HOSTILE_SCRIPT, 5)))]
    server = ThreadServer(incident).start()
    try:
        browser.get(server.url)
        wait_dom(browser, _live, what="the live badge")
        # And the same text arriving live, through the script's path.
        live = incident.copy()
        live.timeline.append(TimelineEntry(
            at=incident.started_at + timedelta(minutes=3), text=f"live {HOSTILE_IMG}",
            author=HOSTILE_IMG, kind=Kind.ALERT, source=Source.AUTO))
        live.title = f"renamed {HOSTILE_SCRIPT}"
        server.publish(live)
        wait_dom(browser, lambda d: text_of(d, "title") == f"renamed {HOSTILE_SCRIPT}",
                 what="the live title")
        texts = timeline_texts(browser)
        assert f"live {HOSTILE_IMG}" in texts and f"note {HOSTILE_IMG}" in texts
        apps = browser.execute_script(
            "return [...document.querySelectorAll('#apps .app')].map(e => e.textContent)")
        assert apps == [HOSTILE_IMG, HOSTILE_SCRIPT]
        assert text_of(browser, "summary") == HOSTILE_SCRIPT
        counts = browser.execute_script(
            "return [document.getElementsByTagName('img').length, document.scripts.length,"
            " document.querySelectorAll('[onerror],[onload]').length]")
        assert counts == [0, 1, 0]
        _no_alert(browser)
        logs = browser.get_log("browser")
        assert not [e for e in logs if "alert" in e.get("message", "") or
                    e.get("level") == "SEVERE"], logs
    finally:
        server.stop()


def test_page_works_with_javascript_off(server: ServerProcess,
                                        open_browser: Callable[..., Any]) -> None:
    driver = open_browser(javascript=False)
    driver.get(server.url)
    assert text_of(driver, "title") == "orders DB refusing connections"
    assert len(driver.find_elements("css selector", "#timeline .entry")) > 5
    assert len(driver.find_elements("css selector", "svg.chart path")) >= 3
    assert not driver.find_element("id", "live").is_displayed()
    assert driver.find_element("id", "filter-go").is_displayed()  # the form filters instead
