"""A recorded incident as the dashboard's data source, on a virtual clock.

The same App, panes and live state as `warroom watch`; a Playback feeds the recorded samples
for the cursor's window instead of pollers feeding live ones, and the cursor is the clock (play,
pause, seek, speed). A session another process is still writing is followed: at the end, new
rollups and entries arrive as they are written (the recorder's history, with no file, is not
followed). Only the session builder imports this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from warroom.collectors.bouncer_sample import BouncerSample
from warroom.collectors.poll import Poller
from warroom.recording.browse import FrameReader
from warroom.recording.store_api import READ_ERRORS
from warroom.sessions.follow import Follower
from warroom.sessions.model import Incident, Kind, SampleRollup
from warroom.sessions.rollups import Blocks
from warroom.sessions.store import SessionError
from warroom.tui.messages import SourceChanged
from warroom.tui.parts import Host
from warroom.tui.playback import Playback
from warroom.tui.state import LiveState
from warroom.widgets.views import FindingsView

FRAME_S = 0.25  # how often a playing replay moves
FOLLOW_S = 1.0  # how often the file is looked at for a writer's new data
RECENT_FINDINGS_S = 300.0  # the findings line shows the record's findings of the last 5 minutes
# Rollup blocks per read on the decoding thread: the TOML reader is compiled and keeps the GIL
# for a whole read, so a read of 120 (~20 ms) is the longest the screen can be kept waiting.
DECODE_CHUNK = 120
DECODE_AFTER_S = 1.0


class FramePools:
    """One server's PgBouncer pools from the recorder's frames, at the replay's cursor: a source
    with ``sample()`` like the live collector, read on a poller thread (the disk)."""

    def __init__(self, reader: FrameReader, server: str, clock: Callable[[], datetime]) -> None:
        self.reader = reader
        self.server = server
        self.clock = clock
        self._asked: datetime | None = None

    def sample(self) -> BouncerSample | None:
        """The frame's pools when the cursor moved since the last call, else None."""
        at = self.clock()
        if at == self._asked:
            return None
        self._asked = at
        try:
            return self.reader.pools(self.server, at)
        except READ_ERRORS:
            return None  # the rollups' pools stay shown

    def close(self) -> None:
        """Nothing held: each read opens and closes the store."""


class RecordedSource:
    """A Playback's states, its cursor moved by the user and a frame timer; the file followed.
    ``pools``: per server, its PgBouncer pools from the frames (None: the rollups' only)."""

    def __init__(
        self,
        playback: Playback,
        follower: Follower | None,
        pools: Sequence[FramePools | None] = (),
        label: str = "REPLAY",
    ) -> None:
        """``label``: what the header calls it (the recorder's history is no incident's)."""
        self.playback = playback
        self.label = label
        self._file = follower
        self._host: Host | None = None
        self._poller: Poller[Incident | None] | None = None
        self._pools = list(pools)
        self._pollers: list[Poller[BouncerSample | None]] = []

    @property
    def states(self) -> list[LiveState]:
        return self.playback.states  # a seek rebuilds them

    def prime(self, incident: Incident) -> None:
        """The playback holds the cursor's window already."""

    def start(self, host: Host) -> None:
        self._host = host
        host.moved()  # mark the entry at the opening cursor
        host.set_interval(FRAME_S, self._frame)
        if self._file is not None:
            self._poller = Poller("follow", self._reload_if_changed, self._deliver, FOLLOW_S)
            self._poller.start()
        for index, pools in enumerate(self._pools):
            if pools is not None:
                poller = Poller(f"pools-{index}", pools.sample,
                                lambda s, i=index: self._pooled(i, s), FRAME_S)  # fmt: skip
                self._pollers.append(poller)
                poller.start()
        # The first frame decoded only the cursor's window: the rest off the UI thread, so
        # seeks anywhere are quick then (and bad blocks named), once the screen is up: started
        # at once, it shares the interpreter with the first frame's layout and slows it.
        host.set_timer(DECODE_AFTER_S, self._start_decoding)

    def stop(self) -> None:
        if self._poller is not None:
            self._poller.stop()
        for poller in self._pollers:
            poller.stop()

    def close(self) -> None:
        """Nothing open: the record is read, never held."""

    def select(self, index: int) -> None:
        if 0 <= index < len(self.playback.states):
            self.playback.selected = index

    # -- the record on other threads -------------------------------------------------------

    def _start_decoding(self) -> None:
        if self.playback.blocks is not None:
            threading.Thread(target=self._decode_all, args=(self.playback.blocks,),
                             name="warroom-decode", daemon=True).start()  # fmt: skip

    def _decode_all(self, blocks: Blocks) -> None:
        """Runs on its own thread: every rollup block, a chunk at a time."""
        rollups: dict[int, SampleRollup] = {}
        error: Exception | None = None
        for lo in range(0, len(blocks.raw), DECODE_CHUNK):
            good, failed = blocks.decode_good(range(lo, min(lo + DECODE_CHUNK, len(blocks.raw))))
            rollups.update(good)
            error = error or failed
        why = str(error) if error is not None else None
        self._post(lambda: self._decoded(rollups, why))

    def _decoded(self, rollups: dict[int, SampleRollup], error: str | None) -> bool:
        self.playback.install(rollups)
        if error is not None and self._host is not None:
            self._host.notify(f"{error} (the windows it holds are left out)",
                              title="record", severity="error", timeout=30)  # fmt: skip
        return False

    def _reload_if_changed(self) -> Incident | None:
        """Runs on the follower's thread: read the file again only when it changed."""
        if self._file is None:
            return None
        try:
            return self._file.read_if_changed()
        except SessionError:
            return None  # broken for a moment (or gone): looked at again next time

    def _deliver(self, incident: Incident | None) -> None:
        if incident is not None:
            self._post(lambda: self._reloaded(incident))

    def _pooled(self, index: int, sample: BouncerSample | None) -> None:
        """On the pools' poller: the frame's pools reach the state on the UI thread."""
        if sample is not None:
            self._post(lambda: self._show_pools(index, sample))

    def _show_pools(self, index: int, sample: BouncerSample) -> bool:
        # The states a seek made since are the ones shown: fed at the moment it lands.
        if index < len(self.playback.states):
            self.playback.states[index].feed_bouncer(sample)
            if self._host is not None:
                self._host.refresh_panes()
        return False

    def _post(self, apply: Callable[[], bool]) -> None:
        if self._host is not None:
            self._host.post_message(SourceChanged(apply))

    def _reloaded(self, incident: Incident) -> bool:
        following = self.playback.at_end
        self.playback.update(incident)
        if following:
            self.playback.seek(self.playback.end)
        return True

    # -- what the panes show ---------------------------------------------------------------

    def findings_view(self, state: LiveState) -> FindingsView:
        """What the record says was found shortly before the cursor.

        Rollups do not keep the findings' evidence (who holds which slot, the lock chains),
        so the rules cannot run again on a replay: the findings line shows the ``finding``
        entries of the last few minutes instead, and says so.
        """
        cursor = self.playback.cursor
        since = cursor - timedelta(seconds=RECENT_FINDINGS_S)
        recent = [e for e in self.playback.entries()
                  if e.kind is Kind.FINDING and since <= e.at <= cursor]  # fmt: skip
        items = tuple(("warning", e.text) for e in reversed(recent[-3:]))
        return FindingsView(items=items, source_note="recorded" if items else "")

    def header_notes(self) -> tuple[tuple[str, str], ...]:
        p = self.playback
        if p.at_end and not p.playing:
            mode = f"{self.label} end"
        elif p.playing:
            mode = f"{self.label} ▶ {p.speed:g}x"
        else:
            mode = f"{self.label} ❚❚"
        return ((mode, "info"),)

    def busy_for(self) -> float:
        return 0.0

    # -- the virtual clock -----------------------------------------------------------------

    def _frame(self) -> None:
        if self.playback.advance(FRAME_S) and self._host is not None:
            self._host.moved()

    def play(self) -> bool:
        self.playback.toggle()
        return True

    def step(self, seconds: int) -> bool:
        self.playback.step(seconds)
        return True

    def to_entry(self, forward: bool) -> bool:
        entry = self.playback.next_entry(forward)
        if entry is None:
            return False
        self.playback.seek(entry.at)
        return True

    def jump(self, to_end: bool) -> bool:
        self.playback.seek(self.playback.end if to_end else self.playback.start)
        return True

    def faster(self, up: bool) -> bool:
        self.playback.faster(up)
        return True

    def seek(self, at: datetime) -> bool:
        self.playback.seek(at)
        return True
