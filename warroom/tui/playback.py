"""A recorded incident on a virtual clock: the clock, each server's recorded source, their states.

No Textual here: replay, the draft's pictures and the benchmark drive the same object. Each
server's recording is a source with ``sample()`` (sessions.recorded.RecordedServer) read on the
virtual clock, as a collector is read on the wall clock: moving the clock on and asking each
source for its samples is how playing feeds the live states, the way live data arrives. Seeking
rebuilds the states from the ten minutes before the cursor (what the charts show).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from warroom.collectors.alerts import AlertConfig
from warroom.sessions.model import Incident, SampleRollup, TimelineEntry, W, rollups_by_server
from warroom.sessions.recorded import RecordedServer, Recording
from warroom.sessions.rollups import Blocks, LazyRollups, RollupHead
from warroom.sessions.servers import by_server
from warroom.tui.state import CHART_SPAN_S, LiveState

SPEEDS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
# The last minute before the cursor is fed sample by sample (the latency pane's percentiles,
# the alerts' hysteresis); the chart history before it one sample per window, at its peaks.
DENSE_S = 60.0
STEP_FORWARD_S = 120.0  # a step forward up to this long is fed on, not rebuilt


def server_names(incident: Incident, split: Mapping[str | None, object]) -> list[str]:
    """The servers a record watched, in strip order; empty for a one-server session.
    ``split``: its rollups by server (``rollups_by_server``)."""
    names = [s.name for s in incident.target.servers]
    names += [n for n in split if n is not None and n not in names]
    return names if len(names) > 1 else []


def lazy_blocks(incident: Incident) -> tuple[Blocks, list[RollupHead]] | None:
    """The record's rollup blocks and their heads, when a lazy load left them all undecoded."""
    samples = incident.samples
    blocks = samples.blocks() if isinstance(samples, LazyRollups) else None
    heads = blocks.heads() if blocks is not None else None
    return (blocks, heads) if blocks is not None and heads is not None else None


class VirtualClock:
    """The replay's clock: a cursor the user plays, pauses, seeks and speeds up."""

    def __init__(self, at: datetime, speed: float | None = None) -> None:
        self.cursor = at
        self.speed = speed or 1.0
        self.playing = speed is not None

    def __call__(self) -> datetime:
        return self.cursor

    def faster(self, up: bool) -> None:
        index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
        index = min(max(index + (1 if up else -1), 0), len(SPEEDS) - 1)
        self.speed = SPEEDS[index]


class Playback:
    """One cursor over every watched server: each server's rollups feed its own live state.

    From a lazy load (``load(path, lazy=True)``) it decodes only the rollups the cursor needs,
    as it needs them; ``blocks`` are then the undecoded ones, for someone to decode whole off
    the UI thread and ``install``.
    """

    def __init__(
        self,
        incident: Incident,
        alerts: AlertConfig | None = None,
        at: datetime | None = None,
        speed: float | None = None,
    ) -> None:
        self.alerts = alerts
        self.incident = incident
        lazy = lazy_blocks(incident)
        self.blocks = lazy[0] if lazy is not None else None
        order = [s.name for s in incident.target.servers]
        items: Sequence[SampleRollup | RollupHead] = (
            lazy[1] if lazy is not None else incident.samples
        )
        split = rollups_by_server(items, order)
        # None stands for "the one server" (its rollups carry no name).
        self.servers: list[str | None] = [*server_names(incident, split)] or [None]
        parts = self._parts(split)
        # Decoding on the UI thread, a bad block's error says only what is wrong with it:
        # ``fail`` would read the whole file again to say where (the full decode reports it).
        quick = dataclasses.replace(self.blocks, fail=None) if self.blocks is not None else None
        self.recordings = [Recording(part, quick) for part in parts]
        self.clock = VirtualClock(incident.started_at, speed)
        self.sources = [RecordedServer(r, self.clock) for r in self.recordings]
        self.states = self._fresh_states()
        self.selected = 0
        self.clock.cursor = self.start
        self.seek(at if at is not None else self.start)

    def _parts(self, split: Mapping[str | None, list[W]]) -> list[list[W]]:
        """Each server's share of ``split`` (rollups_by_server), in ``self.servers`` order."""
        if len(self.servers) == 1:
            return [[r for rs in split.values() for r in rs]]
        return [split.get(name, []) for name in self.servers]

    def install(self, decoded: Mapping[int, SampleRollup]) -> None:
        """The blocks' rollups, decoded elsewhere (by block index)."""
        for recording in self.recordings:
            recording.install(decoded)
        self.blocks = None

    def _fresh_states(self) -> list[LiveState]:
        # Rollups keep no evidence to run the findings rules on (and running them anyway was
        # most of a seek): the record's finding entries say what was found.
        return [LiveState(self.alerts, server=name, findings=None) for name in self.servers]

    def __call__(self) -> datetime:
        """The virtual clock's time: the cursor."""
        return self.clock.cursor

    @property
    def cursor(self) -> datetime:
        return self.clock.cursor

    @property
    def speed(self) -> float:
        return self.clock.speed

    @property
    def playing(self) -> bool:
        return self.clock.playing

    @property
    def state(self) -> LiveState:
        """The selected server's state (the panes below the strip)."""
        return self.states[self.selected]

    @property
    def recording(self) -> Recording:
        return self.recordings[self.selected]

    # -- the span of the record ------------------------------------------------------------

    @property
    def start(self) -> datetime:
        firsts = [r.start for r in self.recordings if r.start is not None]
        started = self.incident.started_at
        return min(started, *firsts) if firsts else started

    @property
    def end(self) -> datetime:
        times = [self.incident.started_at]
        times += [r.end for r in self.recordings if r.end is not None]
        if self.incident.timeline:
            times.append(max(e.at for e in self.incident.timeline))
        if self.incident.resolved_at is not None:
            times.append(self.incident.resolved_at)
        return max(times)

    @property
    def at_end(self) -> bool:
        return self.cursor >= self.end

    # -- moving --------------------------------------------------------------------------

    def seek(self, at: datetime) -> None:
        at = min(max(at, self.start), self.end)
        self.states = self._fresh_states()
        for state, source in zip(self.states, self.sources, strict=True):
            state.feed_history(source.history(at, CHART_SPAN_S, DENSE_S))
            source.rewind(at)
        self.clock.cursor = at

    def step(self, seconds: float) -> None:
        if 0 < seconds <= STEP_FORWARD_S:
            self._feed_to(min(self.cursor + timedelta(seconds=seconds), self.end))
        else:
            self.seek(self.cursor + timedelta(seconds=seconds))

    def _feed_to(self, new: datetime) -> None:
        self.clock.cursor = new
        for state, source in zip(self.states, self.sources, strict=True):
            state.feed_history(source.sample())

    def advance(self, real_seconds: float) -> bool:
        """Play on by ``real_seconds`` of wall time; True when the cursor moved."""
        if not self.playing or self.at_end:
            return False
        self._feed_to(min(self.cursor + timedelta(seconds=real_seconds * self.speed), self.end))
        return True

    def toggle(self) -> None:
        if self.at_end and not self.playing:
            self.seek(self.start)  # play again from the top
        self.clock.playing = not self.clock.playing

    def faster(self, up: bool) -> None:
        self.clock.faster(up)

    # -- the timeline ----------------------------------------------------------------------

    def entries(self) -> list[TimelineEntry]:
        return self.incident.entries_in_order()

    def entry_at_cursor(self) -> TimelineEntry | None:
        """The newest entry at or before the cursor: what the responder had just written."""
        found = None
        for entry in self.entries():
            if entry.at > self.cursor:
                break
            found = entry
        return found

    def next_entry(self, forward: bool) -> TimelineEntry | None:
        entries = self.entries()
        if forward:
            return next((e for e in entries if e.at > self.cursor), None)
        return next((e for e in reversed(entries) if e.at < self.cursor), None)

    def update(self, incident: Incident) -> None:
        """A newer copy of the record (another process is still writing it)."""
        self.incident = incident
        for recording, rollups in zip(self.recordings, self._parts(by_server(incident)),
                                      strict=True):  # fmt: skip
            recording.extend(rollups)
