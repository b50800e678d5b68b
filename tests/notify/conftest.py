from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notify.helpers import MADE
from notify.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(slow_s=1.5)
    r.up()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _stop_notifiers() -> Iterator[None]:
    yield
    while MADE:
        MADE.pop().close()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$XDG_STATE_HOME (the outbox) and $WARROOM_CONFIG in the test's own directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("WARROOM_HOME", str(tmp_path / "incidents"))
    return tmp_path
