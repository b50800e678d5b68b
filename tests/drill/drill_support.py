"""Helpers for the drill tests: is a pid alive, and polling with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def alive(pid: int) -> bool:
    """A pid that runs (zombies count as gone: they hold no resources but a table slot)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def poll(
    condition: Callable[[], object], timeout: float, what: str | Callable[[], str]
) -> object:
    """Wait for ``condition``; ``what`` may be a callable, read at failure (the state then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"{said}: not within {timeout}s")
        time.sleep(0.1)
