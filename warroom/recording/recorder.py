"""The loop `warroom record` runs: one poller per server, one writer, one line per event.

Each server is sampled on its own poller (collectors/poll.py, the dashboard's loop), so a
stalled one delays no other. Their frames come to the caller's thread, the only one that
writes the store and stderr. A store that cannot be written (disk full, read-only, gone) is
one log line; frames taken meanwhile are dropped (not kept in memory: the next frame is a
keyframe anyway, and a long outage would grow without bound), the store is reopened at each
later frame (an ops database: at most every RETRY_S, as a connect may wait seconds), and one
line says when recording resumed and how many frames were dropped. A server that is down is a
frame saying so.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.collectors.poll import Poller
from warroom.recording.retention import Retention
from warroom.recording.sampler import Sampled, ServerFrames
from warroom.recording.store import StoreError
from warroom.recording.store_api import WRITE_ERRORS, FrameSink, StoreSpec, describe, open_store
from warroom.sanitize import one_line
from warroom.sessions.toml_codec import render_block, rollup_table

if TYPE_CHECKING:
    from warroom.recording.opener import IncidentOpener
    from warroom.rollup import SampleRollup

Log = Callable[[str], None]
RETRY_S = 5.0  # between two attempts to reach an ops database that did not answer


class Recorder:
    def __init__(
        self,
        servers: Sequence[ServerFrames],
        store: StoreSpec,
        retention: Retention,
        interval: float,
        log: Log,
    ) -> None:
        self.servers = list(servers)
        self.path = store
        self.retention = retention
        self.interval = interval
        self.log = log
        self.written = 0
        self._store: FrameSink | None = None
        self._failing = False  # the store failed and has not been written since
        self.opener: IncidentOpener | None = None
        self._dropped = 0  # frames not stored since it failed
        self._retry_at = 0.0  # monotonic: no reopening before (an ops database only)

    def open_store(self) -> None:
        """Opens the store now: a file that is not a store is the caller's error (StoreError);
        one that cannot be written yet is logged, and retried at each frame."""
        self._reopen()

    def _reopen(self) -> bool:
        if self._store is not None:
            return True
        if time.monotonic() < self._retry_at:
            return False
        try:
            self._store = open_store(self.path, retention=self.retention)
            self._store.enforce()
        except WRITE_ERRORS as exc:
            self._close_store()
            self._failed(exc)
            return False
        except StoreError as exc:  # at start the caller's error; later, one more failure
            if not self._failing and self.written == 0 and self._dropped == 0:
                raise
            self._close_store()
            self._failed(exc)
            return False
        return True

    def _failed(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            reason = one_line(getattr(exc, "strerror", None) or exc, 200)
            self.log(f"cannot write the store {describe(self.path)}: {reason}; frames are "
                     "dropped until it can be written (retrying)")  # fmt: skip
        if not isinstance(self.path, Path):  # a connect may wait seconds: not every frame
            self._retry_at = time.monotonic() + RETRY_S

    def _close_store(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            except WRITE_ERRORS:
                pass
            self._store = None

    def write(self, sampled: Sampled) -> None:
        for line in sampled.log:
            self.log(line)
        if not self._reopen() or self._store is None:
            self._dropped += 1
            return
        try:
            self._store.append(sampled.frame)
            for rollup in sampled.rollups:
                body = render_block("samples", rollup_table(rollup)).decode()
                self._store.add_rollup(sampled.frame.server, rollup.at, body)
        except WRITE_ERRORS as exc:
            self._close_store()  # a fresh connection next time, and a keyframe first
            self._failed(exc)
            self._dropped += 1
            return
        self.written += 1
        if self._failing:
            self._failing = False
            self.log(f"the store {describe(self.path)} is written again: recording resumed "
                     f"({self._dropped} frames dropped meanwhile)")  # fmt: skip
            self._dropped = 0

    def run(self, stop: threading.Event, frames: int | None = None) -> None:
        """Records until ``stop`` is set (or ``frames`` were written, for tests and bench)."""
        landed: queue.Queue[Sampled] = queue.Queue()
        pollers = [
            Poller(f"record-{i}", server.sample, landed.put, self.interval,
                   on_error=lambda exc, s=server: self.log(
                       f"{s.server}: sampling failed: {one_line(exc, 200)}"),
                   min_wait=0.0, pace=server.lines.collector.every)
            for i, server in enumerate(self.servers)
        ]  # fmt: skip
        try:
            if self.opener is not None:
                self.opener.resume()
            for poller in pollers:
                poller.start()
            while not stop.is_set() and (frames is None or self.written < frames):
                try:
                    sampled = landed.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.write(sampled)
                if self.opener is not None and sampled.breaches:
                    self.opener.feed(sampled.breaches)  # after the frame: its lead-up is stored
        finally:
            for poller in pollers:
                poller.stop()
            for server in self.servers:
                server.lines.close_collectors()
            for poller in pollers:
                poller.join(timeout=2.0)
            for server in self.servers:
                server.lines.close_side()
            self._close_store()

    def lead(self, server: str, since: datetime, until: datetime) -> list[SampleRollup]:
        """The stored rollups of ``server`` from the lead-up before ``since`` through ``until``,
        for the opener (this thread's store); none while the store cannot be read."""
        from warroom.recording.leadup import lead_up

        if self.opener is None or self._store is None:
            return []
        span = self.opener.lead_s + max(0.0, (until - since).total_seconds())
        try:
            return lead_up(self._store, server, until, span)
        except (*WRITE_ERRORS, ValueError):
            return []


__all__ = ["Recorder", "StoreError"]
