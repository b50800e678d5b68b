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

    Before ``app`` is set, a signal interrupts the start-up (DemoInterrupted unwinds it through
    the cleanups). Once it is set, the handler never raises: an exception raised from a handler
    lands wherever the main thread is, and inside Textual's start or stop it skips the code that
    stops its input thread, which is not a daemon, so the interpreter then waits for it forever.
    Instead the first signal starts a watchdog thread that asks the app to exit through its event
    loop (``call_soon_threadsafe``: never waiting for the loop, which may be stuck), asking again
    until the loop exists if the app is still starting, and that ends the process
    ``GRACE_S`` after the signal if the guarded block has not been left by then, however far its
    exit got (a terminal that wedges output, a stalled server, a lock held elsewhere): ``cleanup``
    (the demo's teardown) runs, then the process leaves with 128 + signal.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    GRACE_S = 5.0  # README: a dashboard ends within 5 s of SIGHUP or SIGTERM

    def __init__(self, cleanup: Callable[[], None] | None = None) -> None:
        self.cleanup = cleanup
        self.app: App[Any] | None = None
        self.signum = 0
        self._previous: dict[int, Any] = {}
        self._watchdog: threading.Thread | None = None
        self._released = threading.Event()

    def __enter__(self) -> ExitGuard:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        # The guarded part is over (the app stopped, its shutdown done): what the caller does
        # next (the demo's own teardown) is not cut short, nor run twice, by the watchdog.
        self._released.set()
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = self.signum or signum
        app = self.app
        if app is None:
            raise DemoInterrupted(signum)
        if self._watchdog is None:
            # A thread, not work here: a handler runs between two bytecodes of whatever the
            # main thread was doing, and must neither block nor touch the app's state.
            self._watchdog = threading.Thread(
                target=self._end, args=(app, time.monotonic() + self.GRACE_S),
                name="warroom-exit", daemon=True,
            )  # fmt: skip
            self._watchdog.start()

    def _end(self, app: App[Any], deadline: float) -> None:
        asked = False
        while time.monotonic() < deadline:
            if not asked:
                asked = _ask_exit(app)
            if self._released.wait(0.05):
                return
        # Still inside: the exit is stuck somewhere.
        if self.cleanup is not None:
            with contextlib.suppress(Exception):
                self.cleanup()
        os._exit(128 + self.signum)


def _ask_exit(app: App[Any]) -> bool:
    """Schedule ``app.exit()`` on the app's loop without waiting for it; False while the app
    has no loop yet (it is starting: ask again)."""
    loop = app._loop
    if loop is None:
        return False
    try:
        loop.call_soon_threadsafe(app.exit)
    except RuntimeError:  # the loop closed: the app has finished, the process is leaving
        pass
    return True


class DemoInterrupted(KeyboardInterrupt):
    """A signal arrived before the dashboard was up; unwinds start-up through the cleanups."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
