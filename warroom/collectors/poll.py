"""The one poll loop: a source sampled on its own daemon thread, re-armed after each sample.

Used by the dashboard (one poller per source and server) and by ``warroom sample`` (one per
server). A daemon thread, not a Textual worker: those run on the event loop's default executor,
which asyncio waits for at shutdown, so one sample stuck on a stalled database would make `q`
hang. The next sample is due ``interval`` after this one started, or ``min_wait`` after a sample
that took longer, so samples never pile up behind a slow server (Dolphie's WorkerManager does
the same). Results and failures go to callbacks, which must be thread-safe.
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
        *,
        count: int | None = None,
        min_wait: float = 0.05,
        on_exit: Callable[[], None] | None = None,
        pace: Callable[[], float] | None = None,
    ) -> None:
        """``count`` ends the loop after that many results; ``on_exit`` runs on the thread last;
        ``pace``, asked after each sample, says when the next is due instead of ``interval``
        (a server whose sample costs it too much is sampled less often: collectors/pace.py)."""
        self.name = name
        self.interval = interval
        self._pace = pace
        self.count = count
        self.min_wait = min_wait
        self._sample = sample
        self._deliver = deliver
        self._on_error = on_error
        self._on_exit = on_exit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"warroom-{name}", daemon=True)
        self.busy_since: float | None = None  # monotonic start of the sample in flight

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ends the loop at its next check; safe from any thread, the poller's own included."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _loop(self) -> None:
        taken = 0
        while not self._stop.is_set():
            started = time.monotonic()
            self.busy_since = started
            try:
                result = self._sample()
            except Exception as exc:  # a collector bug must not end sampling for good
                self.busy_since = None
                if self._on_error is not None:
                    self._on_error(exc)  # which may stop() the loop
            else:
                self.busy_since = None
                if self._stop.is_set():
                    return
                self._deliver(result)
                taken += 1
                if self.count is not None and taken >= self.count:
                    return
            every = self._every()
            self._stop.wait(max(every - (time.monotonic() - started), self.min_wait))

    def _every(self) -> float:
        if self._pace is None:
            return self.interval
        try:
            return self._pace()
        except Exception:  # a pacing bug must not end sampling: the interval asked for
            return self.interval
