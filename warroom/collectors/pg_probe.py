"""The connect probe: a fresh connection every few seconds, timed, on its own thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from warroom.collectors import pg_wire
from warroom.collectors.pg_wire import Stopped, WireError
from warroom.collectors.sample import Failure, FailureKind


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    at: datetime
    connect_ms: float | None
    failure: Failure | None


class Probing:
    """PostgresCollector's part that runs the connect probe and reads its last result."""

    probe_every: float
    connect_timeout: float
    _probe_conninfo: str
    _stop: threading.Event
    _probe_thread: threading.Thread | None
    _probe: ProbeResult | None

    def _probe_fields(self) -> tuple[float | None, Failure | None]:
        probe = self._probe
        if probe is None:
            return None, None
        return probe.connect_ms, probe.failure

    def _ensure_probe(self) -> None:
        if self.probe_every <= 0 or self._probe_thread is not None:
            return
        self._probe_thread = threading.Thread(
            target=self._probe_loop, name="warroom-pg-probe", daemon=True
        )
        self._probe_thread.start()

    def probe_once(self) -> ProbeResult:
        """Open a fresh connection and close it: its time, or the typed refusal."""
        at = now_utc()
        t0 = time.perf_counter()
        timeout = min(self.connect_timeout, max(self.probe_every, 1.0))
        try:
            pgconn = pg_wire.connect(self._probe_conninfo, time.monotonic() + timeout, self._stop)
        except WireError as exc:
            return ProbeResult(at, None, exc.failure)
        elapsed = (time.perf_counter() - t0) * 1000.0
        pgconn.finish()
        return ProbeResult(at, elapsed, None)

    def _probe_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._probe = self.probe_once()
            except Stopped:
                return
            except Exception as exc:
                self._probe = ProbeResult(now_utc(), None, Failure(FailureKind.OTHER, repr(exc)))
            self._stop.wait(max(0.0, self.probe_every - (time.monotonic() - started)))
