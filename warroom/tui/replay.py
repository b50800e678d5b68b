"""`warroom replay`: the dashboard on a recorded incident, on a virtual clock.

The same App, panes and live state as `warroom watch`; only the source differs: a Playback
feeds the recorded samples for the cursor's window instead of pollers feeding live ones.
Replay is read-only. The one write is a review note (`n`), at the cursor's time, with source
``review``; its Recorder is opened on the first one, so a replay without notes leaves the file
byte-identical. A session another process is still writing is followed: at the end, new
rollups and entries arrive as they are written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input, TextArea

from warroom.collectors.alerts import AlertConfig
from warroom.sessions.follow import Follower
from warroom.sessions.model import Incident, Kind, SampleRollup, Source
from warroom.sessions.recorder import Recorder
from warroom.sessions.rollups import Blocks
from warroom.sessions.store import SessionError, Store
from warroom.tui.app import WarroomApp, Watched
from warroom.tui.playback import Playback
from warroom.tui.poller import Poller
from warroom.widgets.timeline import TimelineTable
from warroom.widgets.views import FindingsView

FRAME_S = 0.25  # how often a playing replay moves
FOLLOW_S = 1.0  # how often the file is looked at for a writer's new data
RECENT_FINDINGS_S = 300.0  # the findings line shows the record's findings of the last 5 minutes
# Rollup blocks per read on the decoding thread: the TOML reader is compiled and keeps the GIL
# for a whole read, so a read of 120 (~20 ms) is the longest the screen can be kept waiting.
DECODE_CHUNK = 120
DECODE_AFTER_S = 1.0

REPLAY_KEYS: tuple[tuple[str, str, str], ...] = (
    ("space", "play", "Play/pause"),
    ("right", "step(10)", "+10 s"),
    ("left", "step(-10)", "-10 s"),
    ("shift+right", "step(60)", "+1 min"),
    ("shift+left", "step(-60)", "-1 min"),
    ("right_square_bracket", "entry(1)", "Next entry"),
    ("left_square_bracket", "entry(0)", "Previous entry"),
    ("home", "jump(0)", "Start"),
    ("end", "jump(1)", "End"),
    ("plus", "speed(1)", "Faster"),
    ("minus", "speed(0)", "Slower"),
)
READ_ONLY = "replay is read-only: n adds a review note at the cursor"


@dataclass
class Reloaded(Message):
    incident: Incident


@dataclass
class Decoded(Message):
    """Every rollup of the record, decoded on a thread (by block index); the first error."""

    rollups: dict[int, SampleRollup]
    error: str | None


class ReplayApp(WarroomApp):
    BINDINGS = [
        Binding(key, f"replay_{action}", label, show=key in ("space", "right", "left"),
                priority=True, id=f"replay.{action}")
        for key, action, label in REPLAY_KEYS
    ]

    def __init__(
        self,
        path: Path,
        incident: Incident,
        *,
        alerts: AlertConfig | None = None,
        at: datetime | None = None,
        speed: float | None = None,
        author: str = "",
    ) -> None:
        self.playback = Playback(incident, alerts, at=at, speed=speed)
        names = self.playback.servers
        servers = [Watched(name) for name in names if name is not None] or None
        super().__init__(None, alerts=alerts, author=author, clock=lambda: self.playback.cursor,
                         servers=servers)  # fmt: skip
        self.path = path
        self._incident = incident
        self.follow_playback()
        self._file = Follower(path)

    # -- the record ----------------------------------------------------------------------

    @property
    def incident(self) -> Incident:
        if self.recorder is not None:
            try:
                return self.recorder.store.incident
            except SessionError:
                pass  # still opening: the loaded copy is the same record
        return self._incident

    @property
    def session_path(self) -> Path:
        return self.path

    def writer(self) -> Recorder | None:
        if self.recorder is None:
            # The first review note opens the session for writing (on the writer's thread).
            self.recorder = Recorder(lambda: Store.open(self.path))
            self.recorder.on_change = self._record_changed
        return self.recorder

    def _record_changed(self) -> None:
        from warroom.tui.app import RecordChanged

        self.post_message(RecordChanged())

    def note_source(self) -> Source:
        return Source.REVIEW

    def queue(
        self,
        label: str,
        write: Callable[[Recorder], Future[Any]],
        done: Callable[[], None] | None = None,
    ) -> bool:
        self.notify(READ_ONLY, severity="warning")
        return False

    def refresh_record(self) -> None:
        if self.recorder is None:
            return
        try:
            super().refresh_record()
        except SessionError:
            return

    # -- the source ------------------------------------------------------------------------

    def show_history(self) -> None:
        """The playback holds the cursor's window already."""

    def start_polling(self) -> None:
        self.moved()  # mark the entry at the opening cursor
        self.set_interval(FRAME_S, self.play_frame)
        follower = Poller("follow", self._reload_if_changed, self._deliver, FOLLOW_S)
        self._pollers.append(follower)  # stopped with the app, however it ends
        follower.start()
        # The first frame decoded only the cursor's window: the rest off the UI thread, so
        # seeks anywhere are quick then (and bad blocks named), once the screen is up: started
        # at once, it shares the interpreter with the first frame's layout and slows it.
        self.set_timer(DECODE_AFTER_S, self._start_decoding)

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
        self.post_message(Decoded(rollups, str(error) if error is not None else None))

    def on_decoded(self, message: Decoded) -> None:
        self.playback.install(message.rollups)
        if message.error is not None:
            self.notify(f"{message.error} (the windows it holds are left out)",
                        title="record", severity="error", timeout=30)  # fmt: skip

    def play_frame(self) -> None:
        if self.playback.advance(FRAME_S):
            self.moved()

    def _reload_if_changed(self) -> Incident | None:
        """Runs on the follower's thread: read the file again only when it changed."""
        if not self._file.changed():
            return None
        try:
            return self._file.read()
        except SessionError:
            self._file.seen = None  # broken for a moment (or gone): look again next time
            return None

    def _deliver(self, incident: Incident | None) -> None:
        if incident is not None:
            self.post_message(Reloaded(incident))

    def on_reloaded(self, message: Reloaded) -> None:
        following = self.playback.at_end
        self._incident = message.incident
        self.playback.update(message.incident)
        if following:
            self.playback.seek(self.playback.end)
        self.follow_playback()
        self.refresh_timeline()
        self.moved()

    # -- moving ----------------------------------------------------------------------------

    def moved(self) -> None:
        """The cursor moved: panes, header and the timeline's mark follow it."""
        self.follow_playback()
        self.refresh_live()
        self.refresh_panes()
        entry = self.playback.entry_at_cursor()
        self.query_one(TimelineTable).select(entry.id if entry is not None else None)

    def follow_playback(self) -> None:
        """A seek rebuilds the playback's states: the panes show the new ones."""
        self.playback.selected = self.selected
        self.states = self.playback.states
        self.state = self.playback.state

    def select_server(self, index: int) -> None:
        if 0 <= index < len(self.playback.states):
            self.playback.selected = index
        super().select_server(index)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action.startswith("replay_") and isinstance(self.focused, (Input, TextArea)):
            return False  # arrows and space edit the note being typed
        return super().check_action(action, parameters)

    def action_replay_play(self) -> None:
        self.playback.toggle()
        self.moved()

    def action_replay_step(self, seconds: int) -> None:
        self.playback.step(seconds)
        self.moved()

    def action_replay_entry(self, forward: int) -> None:
        entry = self.playback.next_entry(bool(forward))
        if entry is not None:
            self.playback.seek(entry.at)
            self.moved()

    def action_replay_jump(self, to_end: int) -> None:
        self.playback.seek(self.playback.end if to_end else self.playback.start)
        self.moved()

    def action_replay_speed(self, up: int) -> None:
        self.playback.faster(bool(up))
        self.moved()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an entry: go to its time."""
        key = event.row_key.value
        for entry in self.incident.timeline:
            if entry.id == key:
                self.playback.seek(entry.at)
                self.moved()
                return

    def findings_view(self) -> FindingsView:
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
            mode = "REPLAY end"
        elif p.playing:
            mode = f"REPLAY ▶ {p.speed:g}x"
        else:
            mode = "REPLAY ❚❚"
        return ((mode, "info"), *super().header_notes())

    def action_backends(self) -> None:
        self.notify("the backends view needs a live database (warroom watch)")
