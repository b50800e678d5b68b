"""The loop `warroom record` runs: one poller per server, one writer, one line per event.

Each server is sampled on its own poller (collectors/poll.py, the dashboard's loop), so a
stalled one delays no other. Their frames come to the caller's thread, the only one that
writes the store and stderr. A store that cannot be written (disk full, read-only, gone) is
one log line; frames taken meanwhile are dropped, the store is reopened at each later frame,
and one line says when recording resumed. A server that is down is a frame saying so.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from warroom.collectors.poll import Poller
from warroom.recording.retention import Retention
from warroom.recording.sampler import Sampled, ServerFrames
from warroom.recording.store import FrameStore, StoreError
from warroom.sanitize import one_line
from warroom.sessions.toml_codec import render_block, rollup_table

Log = Callable[[str], None]


class Recorder:
    def __init__(
        self,
        servers: Sequence[ServerFrames],
        store: Path,
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
        self._store: FrameStore | None = None
        self._failing = False  # the store failed and has not been written since

    def open_store(self) -> None:
        """Opens the store now: a file that is not a store is the caller's error (StoreError);
        one that cannot be written yet is logged, and retried at each frame."""
        self._reopen()

    def _reopen(self) -> bool:
        if self._store is not None:
            return True
        try:
            self._store = FrameStore(self.path, retention=self.retention)
            self._store.enforce()
        except (sqlite3.Error, OSError) as exc:
            self._close_store()
            self._failed(exc)
            return False
        return True

    def _failed(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            reason = one_line(getattr(exc, "strerror", None) or exc, 200)
            self.log(f"cannot write the store {self.path}: {reason}; frames are dropped until "
                     "it can be written (retrying at each frame)")  # fmt: skip

    def _close_store(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            except sqlite3.Error:
                pass
            self._store = None

    def write(self, sampled: Sampled) -> None:
        for line in sampled.log:
            self.log(line)
        if not self._reopen() or self._store is None:
            return
        try:
            self._store.append(sampled.frame)
            for rollup in sampled.rollups:
                body = render_block("samples", rollup_table(rollup)).decode()
                self._store.add_rollup(sampled.frame.server, rollup.at, body)
        except (sqlite3.Error, OSError) as exc:
            self._close_store()  # a fresh connection next time, and a keyframe first
            self._failed(exc)
            return
        self.written += 1
        if self._failing:
            self._failing = False
            self.log(f"the store {self.path} is written again: recording resumed")

    def run(self, stop: threading.Event, frames: int | None = None) -> None:
        """Records until ``stop`` is set (or ``frames`` were written, for tests and bench)."""
        landed: queue.Queue[Sampled] = queue.Queue()
        pollers = [
            Poller(f"record-{i}", server.sample, landed.put, self.interval,
                   on_error=lambda exc, s=server: self.log(
                       f"{s.server}: sampling failed: {one_line(exc, 200)}"),
                   min_wait=0.0)
            for i, server in enumerate(self.servers)
        ]  # fmt: skip
        try:
            for poller in pollers:
                poller.start()
            while not stop.is_set() and (frames is None or self.written < frames):
                try:
                    sampled = landed.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.write(sampled)
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


__all__ = ["Recorder", "StoreError"]
