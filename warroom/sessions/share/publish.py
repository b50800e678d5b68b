"""Sending this host's pending events, in journal order, once each.

Several processes of one host may publish the same journal (the dashboard's Sharer and a
`warroom note` in another shell): a flock on ``NAME.share.lock`` lets one at a time read the
marker, send, and move it. A crash between sending and moving the marker resends; the server
ignores ids it has, so each event is stored exactly once.
"""

from __future__ import annotations

import fcntl
import os
import time
from typing import TYPE_CHECKING, Any

from warroom.sessions.share import opsdb
from warroom.sessions.share.outbox import LOCAL, Journal

if TYPE_CHECKING:
    import psycopg

BATCH = 500


class Busy(Exception):
    """Another process of this host is publishing right now (it sends ours too)."""


def publish_pending(
    outbox: Journal, conn: psycopg.Connection[Any], wait: float = 2.0
) -> tuple[int, int]:
    """Publish what is pending; returns (events sent, incident's last sequence on the server)."""
    fd = os.open(outbox.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _lock(fd, wait)
        start = outbox.published_to()
        lines = outbox.read_from(start)
        sent, last = 0, 0
        batch: list[Any] = []
        for line in lines:
            if line.origin == LOCAL:
                batch.append(line)
            if len(batch) >= BATCH:
                last = opsdb.publish(conn, outbox.incident_id, [b.event for b in batch])
                sent += len(batch)
                outbox.set_published_to(batch[-1].end)
                batch = []
        if batch:
            last = opsdb.publish(conn, outbox.incident_id, [b.event for b in batch])
            sent += len(batch)
        if lines and lines[-1].end != start:
            outbox.set_published_to(lines[-1].end)  # remote lines after ours need no sending
        return sent, last
    finally:
        os.close(fd)  # releases the flock


def _lock(fd: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise Busy("another warroom on this host is publishing") from None
            time.sleep(0.01)  # a lock poll, not a race: the holder finishes in milliseconds
