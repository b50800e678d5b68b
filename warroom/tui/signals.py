"""Signals end the dashboard the way `q` does: SIGTERM, SIGHUP (an SSH drop) and SIGINT."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App


class ExitGuard:
    """SIGTERM, SIGHUP (an SSH drop) and SIGINT end the dashboard the way `q` does.

    The first signal asks the dashboard to exit (so the terminal is restored and the partial
    rollup written); before the dashboard runs, it interrupts the start-up. If the dashboard
    has not let go within a few seconds (a dead terminal can wedge output), ``cleanup`` (the
    demo's teardown) runs from here and the process leaves.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    GRACE_S = 5.0

    def __init__(self, cleanup: Callable[[], None] | None = None) -> None:
        self.cleanup = cleanup
        self.app: App[Any] | None = None
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ExitGuard:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, frame: object) -> None:
        first = not self.signum
        self.signum = self.signum or signum
        app = self.app
        if app is None or not app.is_running:
            raise DemoInterrupted(signum)
        if first:
            threading.Thread(target=self._exit_app, args=(app,), daemon=True).start()

    def _exit_app(self, app: App[Any]) -> None:
        with contextlib.suppress(Exception):
            app.call_from_thread(app.exit)
        deadline = time.monotonic() + self.GRACE_S
        while time.monotonic() < deadline and app.is_running:
            time.sleep(0.1)
        if app.is_running:
            # The UI is stuck (e.g. writing to a terminal that hung up): clean up, then leave.
            if self.cleanup is not None:
                self.cleanup()
            os._exit(128 + self.signum)


class DemoInterrupted(KeyboardInterrupt):
    """A signal arrived before the dashboard was up; unwinds start-up through the cleanups."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


