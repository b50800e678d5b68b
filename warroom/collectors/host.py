"""The host warroom runs on: CPU, memory, swap, load, and TCP connections to the database port.

Cheap by default. CPU, memory and load are a few reads of /proc. The TCP count is the one
costly part (the kernel walks its whole connection hash for it: ~10 ms even on a quiet host,
more with tens of thousands of sockets), so it is only taken when a ``db_port`` is given, and at
most once per ``tcp_every`` seconds (default 15 s), less often when a scan takes long enough to
cost more than a thousandth of the time. Past that, a scan is taken when the host's TCP socket
totals (the kernel's running count, read in microseconds) moved by more than ``TCP_MOVED``
since the last one, else once ``TCP_STILL`` times ``tcp_every`` has passed (60 s): a storm, a
pool filling or draining is seen as before, a quiet host is not walked four times a minute to
find the same counts. Between scans a sample repeats the last counts and says how old they are
(``tcp_at``). ``tcp_every=0`` scans on every sample.

Never raises: a figure the platform cannot give (a container without swap accounting, a BSD
without /proc) is None, and ``error`` says what went wrong.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import psutil

from warroom.collectors.tcpstates import socket_totals, tcp_by_state

# Reading /proc/net/tcp costs milliseconds on a busy host; the socket picture moves slowly.
DEFAULT_TCP_EVERY = 15.0
# The kernel formats every socket of the host for that read (30 ms for the 12,000 TIME_WAITs a
# connection storm leaves): scans are spaced so they take at most this share of the time.
TCP_SHARE = 0.001
# Host-wide socket totals moving by more than this (sockets, or a share of the total, whichever
# is more) may mean the database port's picture moved: scan. Less is the host's own churn.
TCP_MOVED = 10
TCP_MOVED_SHARE = 0.02
TCP_STILL = 4  # with totals that stay put, a scan every this many tcp_every anyway

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HostSample:
    at: datetime
    cpu_percent: float | None  # all CPUs, since the previous sample (or since the collector began)
    mem_percent: float | None
    swap_percent: float | None
    load1: float | None
    load5: float | None
    load15: float | None
    # TCP connections with the DB port at either end, by state (ESTABLISHED, TIME_WAIT, ...);
    # empty when no port was given. Listening sockets are not included.
    tcp_by_state: dict[str, int] = field(default_factory=dict)
    tcp_at: datetime | None = None  # when tcp_by_state was counted; None if never
    error: str | None = None

    @property
    def load(self) -> tuple[float, float, float] | None:
        if self.load1 is None or self.load5 is None or self.load15 is None:
            return None
        return (self.load1, self.load5, self.load15)

    @property
    def tcp_total(self) -> int:
        return sum(self.tcp_by_state.values())


class HostCollector:
    def __init__(self, db_port: int | None = None, *, tcp_every: float = DEFAULT_TCP_EVERY) -> None:
        self.db_port = db_port
        self.tcp_every = max(0.0, tcp_every)
        self._tcp: dict[str, int] = {}
        self._tcp_at: datetime | None = None
        self._tcp_mono: float | None = None
        self._tcp_wait = self.tcp_every  # seconds from one scan to the next
        self._tcp_totals: int | None = None  # the host's socket totals at the last scan
        # The first cpu_percent(None) call only sets the baseline: take it now so the first
        # sample already means "since the collector started" instead of a meaningless 0.0.
        try:
            psutil.cpu_percent(interval=None)
        except Exception:  # platform without CPU times: sample() reports it
            pass

    def sample(self) -> HostSample:
        at = datetime.now(UTC)
        errors: list[str] = []
        cpu = _guard(errors, "cpu", lambda: float(psutil.cpu_percent(interval=None)))
        mem = _guard(errors, "memory", lambda: float(psutil.virtual_memory().percent))
        swap = _guard(errors, "swap", lambda: float(psutil.swap_memory().percent))
        load = _guard(errors, "load", _loadavg)
        if self.db_port is not None and self._tcp_due():
            totals = _quiet(socket_totals)  # before the clock: it is no part of the scan's cost
            started = time.monotonic()
            counts = _guard(errors, "tcp", lambda: tcp_by_state(self.db_port or 0))
            if counts is not None:
                self._tcp, self._tcp_at = counts, at
            self._tcp_totals = totals
            self._tcp_mono = time.monotonic()
            if self.tcp_every > 0:
                self._tcp_wait = max(self.tcp_every, (self._tcp_mono - started) / TCP_SHARE)
        return HostSample(
            at=at,
            cpu_percent=cpu,
            mem_percent=mem,
            swap_percent=swap,
            load1=load[0] if load else None,
            load5=load[1] if load else None,
            load15=load[2] if load else None,
            tcp_by_state=dict(self._tcp),
            tcp_at=self._tcp_at,
            error="; ".join(errors) or None,
        )

    def _tcp_due(self) -> bool:
        if self._tcp_mono is None:
            return True
        waited = time.monotonic() - self._tcp_mono
        if waited < self._tcp_wait:
            return False
        if self.tcp_every == 0 or waited >= max(self._tcp_wait, TCP_STILL * self.tcp_every):
            return True
        before, now = self._tcp_totals, _quiet(socket_totals)
        if before is None or now is None:  # no running count here: scan on the clock alone
            return True
        return abs(now - before) > max(TCP_MOVED, TCP_MOVED_SHARE * before)


def _loadavg() -> tuple[float, float, float]:
    if hasattr(os, "getloadavg"):
        one, five, fifteen = os.getloadavg()
    else:  # Windows: psutil emulates it
        one, five, fifteen = psutil.getloadavg()
    return (float(one), float(five), float(fifteen))


def _quiet(read: Callable[[], T | None]) -> T | None:
    """A figure only used to decide when to scan: unreadable means unknown, never an error."""
    try:
        return read()
    except Exception:
        return None


def _guard(errors: list[str], what: str, read: Callable[[], T]) -> T | None:
    try:
        return read()
    except Exception as exc:  # one unreadable figure must not cost the others
        errors.append(f"{what}: {exc}")
        return None
