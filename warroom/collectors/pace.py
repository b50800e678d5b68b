"""How often a server can afford to be sampled: the sample's own cost on the server, capped.

The sample reads ``pg_stat_activity`` once. Building that view costs the server time that grows
with the square of its backends (for each one it looks up the process in the process array):
at 10,000 backends the view alone takes 50 ms or so of server CPU on 15 and on 18, whatever the
query around it does. Sampled every second, a monitor would then cost the server 5 % of a core
at the very moment it has none to spare. So each sample's server time is measured (inside the
statement, so the network does not count) and the next sample waits long enough that sampling
costs at most ``SERVER_SHARE`` of the server's time: every interval as asked while that holds
(up to a few thousand backends), a whole number of intervals beyond it, never more than
``MAX_EVERY_S``. The dashboard says so where the counts are.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

SERVER_SHARE = 0.03  # 30 ms of server time per second of watching
MAX_EVERY_S = 10.0  # even at that cost, counts older than this are no longer a dashboard
KEPT = 5  # the median of the last few: one slow sample (a checkpoint) does not stretch it


class Pace:
    """The cadence for one server, from the server time of its recent samples."""

    def __init__(self, interval: float, share: float = SERVER_SHARE) -> None:
        self.interval = interval
        self.share = share
        self._costs: deque[float] = deque(maxlen=KEPT)

    def record(self, server_s: float | None) -> None:
        if server_s is not None and server_s >= 0:
            self._costs.append(server_s)

    @property
    def cost_s(self) -> float | None:
        """The typical server time of one sample lately (None before the first)."""
        return statistics.median(self._costs) if self._costs else None

    def every(self) -> float:
        """Seconds from one sample's start to the next's."""
        cost = self.cost_s
        if cost is None or self.interval <= 0 or cost <= self.share * self.interval:
            return self.interval
        steps = math.ceil(cost / self.share / self.interval)
        return max(min(steps * self.interval, MAX_EVERY_S), self.interval)
