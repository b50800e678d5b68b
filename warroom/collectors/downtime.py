"""When the server was down: one tracker for the collector, the live state and replay alike."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime

from warroom.collectors.sample import Failure, FailureKind, PgSample


@dataclass(frozen=True, slots=True)
class DownWindow:
    """A stretch of down samples: from the first down sample to the first up one after it."""

    started_at: datetime
    ended_at: datetime | None
    failure: Failure

    @property
    def seconds(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()


class DownTracker:
    """Feed it every sample; it knows since when the server is down and the recent windows."""

    __slots__ = ("down_since", "windows")

    def __init__(self, keep: int = 256) -> None:
        self.down_since: datetime | None = None
        self.windows: deque[DownWindow] = deque(maxlen=keep)

    def track(self, sample: PgSample) -> None:
        if not sample.up and self.down_since is None:
            failure = sample.error or Failure(FailureKind.OTHER, "down (no reason given)")
            self.down_since = sample.at
            self.windows.append(DownWindow(sample.at, None, failure))
        elif sample.up and self.down_since is not None:
            self.down_since = None
            if self.windows and self.windows[-1].ended_at is None:
                self.windows[-1] = replace(self.windows[-1], ended_at=sample.at)
