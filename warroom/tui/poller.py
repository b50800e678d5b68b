"""Background sampling that can never hold the UI or the exit hostage.

Textual's thread workers run on the event loop's default executor, and asyncio waits for that
executor when the app shuts down: one sample stuck on a stalled database would make `q` hang.
A poller is a daemon thread instead. It re-arms only after a sample finishes, so samples never
pile up behind a slow server (Dolphie's WorkerManager does the same), and it hands each result
to the app with a thread-safe callback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Poller(Generic[T]):
    def __init__(
        self,
        name: str,
        sample: Callable[[], T],
        deliver: Callable[[T], None],
        interval: float,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.name = name
        self.interval = interval
        self._sample = sample
        self._deliver = deliver
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"warroom-{name}", daemon=True)
        self.busy_since: float | None = None  # monotonic start of the sample in flight

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.busy_since = started
            try:
                result = self._sample()
            except Exception as exc:  # a collector bug must not end sampling for good
                self.busy_since = None
                if self._on_error is not None:
                    self._on_error(exc)
            else:
                self.busy_since = None
                if self._stop.is_set():
                    return
                self._deliver(result)
            self._stop.wait(max(self.interval - (time.monotonic() - started), 0.05))
