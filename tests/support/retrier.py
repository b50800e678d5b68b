"""A client that keeps retrying a refused connect, as a pool does when the server is full."""

from __future__ import annotations

import threading

from support.pgcluster import APP_ROLE, PgCluster
from support.serverlog_events import try_connect

RETRY_APP = "checkout-retry"  # the retrying client's name: a refusal's log line never has it


class Retrier:
    """Connect attempts as APP_ROLE over TCP, again and again, on a thread, until exit."""

    def __init__(self, cluster: PgCluster) -> None:
        self.cluster = cluster
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retrier", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not try_connect(self.cluster, APP_ROLE, RETRY_APP):
                self.refused += 1
            self._stop.wait(0.002)  # a pool's retry pause: keeps the 2-core test host usable

    def __enter__(self) -> Retrier:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
