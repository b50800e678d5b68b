"""The history page of `warroom serve` (/history), in the real headless Chromium and as HTML."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.web import (
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    ServerProcess,
    cli_env,
    text_of,
    write_session,
)

from warroom.sessions.history import collect, local
from warroom.sessions.model import ActionItem, Incident, Kind, Source, TimelineEntry
from warroom.web import history_page

pytest.importorskip("aiohttp")

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _incident(title: str, start: datetime, severity: str) -> Incident:
    inc = Incident.create(title, start, severity=severity)
    inc.set_key_time("detected_at", start + timedelta(minutes=5))
    inc.status_change("resolved", start + timedelta(minutes=50))
    inc.timeline.append(TimelineEntry(start + timedelta(minutes=6),
                                      "the server refused 40 connections/s for user checkout",
                                      Kind.FINDING, "warroom", Source.AUTO))
    return inc


def _fill(home: Path) -> Path:
    """Three incidents in two months, one with hostile text everywhere; returns the newest."""
    write_session(home / "a.toml", _incident("storm one", datetime(2026, 10, 2, 9, tzinfo=UTC),
                                             "SEV1"))
    write_session(home / "b.toml", _incident("storm two", datetime(2026, 11, 3, 9, tzinfo=UTC),
                                             "SEV2"))
    hostile = _incident(f"orders {HOSTILE_IMG}", datetime(2026, 11, 20, 9, tzinfo=UTC), "SEV2")
    hostile.action_items.append(ActionItem(f"fix {HOSTILE_SCRIPT}", owner=HOSTILE_IMG,
                                           due=date(2026, 11, 21)))
    hostile.timeline.append(TimelineEntry(hostile.started_at, f"{HOSTILE_IMG} holds 9 of 10",
                                          Kind.FINDING, "warroom", Source.AUTO))
    return write_session(home / "c.toml", hostile)


def test_the_page_escapes_every_recorded_text(tmp_path: Path) -> None:
    _fill(tmp_path)
    found, problems = local(tmp_path)
    html = history_page.render(collect(found, NOW.date(), problems), NOW)
    assert "<img" not in html and "<script" not in html
    assert "orders &lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count('<tr class="incident">') == 3
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == 4


@pytest.fixture
def history_server(home: Path) -> Iterator[ServerProcess]:
    session = _fill(home)
    proc = ServerProcess(["--session", str(session)], cli_env(home)).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_history_page_in_chromium(history_server: ServerProcess, browser: Any) -> None:
    browser.get(history_server.url + "history")
    assert text_of(browser, "title") == "Incident history"
    assert text_of(browser, "history-totals") == "3 incidents: SEV1 1 · SEV2 2 · SEV3 0 · SEV4 0"
    assert text_of(browser, "history-means").startswith("MTTD 5m · MTTM — · MTTR 50m")
    titles = browser.execute_script(
        "return [...document.querySelectorAll('#incidents .title')].map(e => e.textContent)")
    assert titles == [f"orders {HOSTILE_IMG}", "storm two", "storm one"]
    months = browser.execute_script(
        "return [...document.querySelectorAll('#history-months tbody th')]"
        ".map(e => e.textContent)")
    assert months == ["2026-11", "2026-10"]
    villains = browser.execute_script(
        "return [...document.querySelectorAll('#history-villains li')].map(e => e.textContent)")
    assert villains == ["user checkout 3"]
    overdue = browser.execute_script(
        "return [...document.querySelectorAll('#overdue .text')].map(e => e.textContent)")
    assert overdue == [f"fix {HOSTILE_SCRIPT}"]
    assert browser.execute_script("return document.querySelectorAll('svg.chart rect.bar').length")
    counts = browser.execute_script(
        "return [document.getElementsByTagName('img').length, document.scripts.length,"
        " document.querySelectorAll('[onerror],[onload]').length]")
    assert counts == [0, 0, 0]
    logs = browser.get_log("browser")
    assert not [e for e in logs if e.get("level") == "SEVERE"], logs
    # The way back to the incident is a link, and the page stays read-only.
    browser.find_element("css selector", "a[href='/']").click()
    assert text_of(browser, "title") == f"orders {HOSTILE_IMG}"
    # And from the incident's page to the history, the same way.
    browser.find_element("css selector", "#history-link").click()
    assert text_of(browser, "title") == "Incident history"
