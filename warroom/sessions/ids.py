"""Globally unique, time-ordered ids (UUIDv7, RFC 9562); Python 3.11 has no ``uuid.uuid7``.

Several hosts write one shared incident, so ids must be unique without coordination, and sort
by creation time so that "order: time, then id" is stable everywhere. Within one millisecond of
one process a 12-bit counter in ``rand_a`` keeps them increasing (RFC 9562 method 1).
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        if ms <= _last_ms:
            # Same millisecond (or the clock stepped back): stay after the previous id.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2)) & 0x3FF  # leave room to count up
        rand_b = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | _counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_uuid7() -> str:
    return str(uuid7())


def uuid7_ms(text: str) -> int | None:
    """The millisecond timestamp of a UUIDv7 string; None for anything else (old 8-hex ids)."""
    if not UUID_RE.match(text):
        return None
    return uuid.UUID(text).int >> 80
