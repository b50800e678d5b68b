"""Fixtures for the `warroom serve` tests: a session in a private home, the real server, Chromium.

Without Chromium, chromedriver or selenium the browser tests skip with the reason; with ``CI``
set they fail instead (as a missing PostgreSQL does), so CI cannot go green by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.web import NoBrowser, ServerProcess, chrome, cli_env, storm_incident, write_session


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "incidents"
    path.mkdir()
    return path


@pytest.fixture
def session_file(home: Path) -> Path:
    return write_session(home / "20261124-0900-orders.toml", storm_incident())


@pytest.fixture
def server(home: Path, session_file: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(["--session", str(session_file)], cli_env(home)).start()
    try:
        yield proc
    finally:
        proc.stop()


def _no_browser(exc: NoBrowser) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"a headless browser is required in CI: {exc}", pytrace=False)
    pytest.skip(f"no headless browser: {exc}")


@pytest.fixture
def open_browser() -> Iterator[Callable[..., Any]]:
    """``open_browser(width=1280, height=800, javascript=True)``: a Chromium closed at teardown."""
    opened: list[Any] = []

    def start(**kwargs: Any) -> Any:
        context = chrome(**kwargs)
        try:
            driver = context.__enter__()
        except NoBrowser as exc:
            _no_browser(exc)
        opened.append(context)
        return driver

    try:
        yield start
    finally:
        for context in reversed(opened):
            context.__exit__(None, None, None)


@pytest.fixture
def browser(open_browser: Callable[..., Any]) -> Any:
    return open_browser()
