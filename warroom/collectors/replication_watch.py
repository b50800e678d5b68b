"""Standbys that come and go, told from successive samples of one server. Pure: no I/O.

A primary's ``pg_stat_replication`` loses a row when a standby disconnects (stopped, crashed,
network); a replica's WAL receiver stops when it loses its primary. Both are news for the
timeline, once per change. Lag and slots are thresholds with hysteresis (alerts.py); a promotion
is a server change (server_changes.py); this watch only says who is connected.
"""

from __future__ import annotations

from warroom.collectors.sample import PgSample, Replication, ServerChange
from warroom.sanitize import one_line


class ReplicationWatch:
    def __init__(self) -> None:
        self.standbys: dict[str, str] | None = None  # name -> state, None before the first read
        self.receiving: bool | None = None

    def feed(self, sample: PgSample) -> list[ServerChange]:
        repl = sample.replication
        if not sample.up or repl is None:
            # No answer says nothing about the standbys: keep what was known, so a monitor
            # reconnecting after a blip does not report every standby as new.
            return []
        if repl.role == "primary":
            self.receiving = None
            return self._standbys(sample, repl)
        self.standbys = None
        return self._receiver(sample, repl)

    def _standbys(self, sample: PgSample, repl: Replication) -> list[ServerChange]:
        now = {r.name: r.state or "in an unknown state" for r in repl.replicas}
        before, self.standbys = self.standbys, now
        if before is None:
            return []
        changes = [
            ServerChange("standby_lost", sample.at,
                         f"standby {one_line(name, 60)} disconnected (was {state})")
            for name, state in before.items() if name not in now
        ]  # fmt: skip
        changes += [
            ServerChange("standby_joined", sample.at,
                         f"standby {one_line(name, 60)} connected ({state})")
            for name, state in now.items() if name not in before
        ]  # fmt: skip
        return changes

    def _receiver(self, sample: PgSample, repl: Replication) -> list[ServerChange]:
        receiving, before = repl.receiving, self.receiving
        self.receiving = receiving
        if before is None or receiving is None or receiving == before:
            return []
        upstream = one_line(repl.upstream or "its primary", 60)
        if receiving:
            return [ServerChange("receiver_joined", sample.at, f"streaming from {upstream} again")]
        text = f"lost its primary: WAL receiver from {upstream} stopped"
        return [ServerChange("receiver_lost", sample.at, text)]
