"""The war room's App: wiring. It composes the panes, installs the session it is given (a data
source on a clock, a sink, the actions that apply) and routes messages; the session builder
(session.py) chose the parts, so nothing here knows a live incident from a replayed one.

Collectors run on pollers (daemon threads) and post small messages; the live state turns them
into views and record changes; the Recorder writes those on its own thread. This thread never
touches the disk, the session's lock or the network: a note is fsynced before the input box
clears, and the screen keeps answering while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from textual.app import ComposeResult, SystemCommand
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, TextArea

from warroom.collectors.sample import PgSample
from warroom.notify.hooks import trouble as notify_trouble
from warroom.sessions.model import (
    Incident,
    Kind,
    TimelineEntry,
)
from warroom.sessions.recorder import Recorder
from warroom.sessions.times import format_offset
from warroom.tui.keys import WHERE, YIELDS_TO_TEXT, bindings
from warroom.tui.leaving import Leaving
from warroom.tui.messages import (
    BouncerSampled,
    CollectorFailed,
    HostSampled,
    PgSampled,
    RecordChanged,
    SourceChanged,
)
from warroom.tui.note_box import NoteBox
from warroom.tui.notes import PREFIX_HELP
from warroom.tui.other_views import OtherViews
from warroom.tui.palette import dashboard_commands
from warroom.tui.parts import Session
from warroom.tui.record_writes import RecordWrites
from warroom.widgets.blank import BlankScreen, Column, Row
from warroom.widgets.bouncer import BouncerPane
from warroom.widgets.connections import ConnectionsPane
from warroom.widgets.findings import FindingsLine
from warroom.widgets.header import IncidentHeader
from warroom.widgets.host import HostPane
from warroom.widgets.latency import LatencyPane
from warroom.widgets.pane import painting
from warroom.widgets.servers import ReplicationPane, ServersStrip
from warroom.widgets.text import clean
from warroom.widgets.timeline import TimelineRow, TimelineTable
from warroom.widgets.views import HeaderView, ServersView

W = TypeVar("W", bound=Widget)

# Without a sample this long after the last one, the tick moves the clock (then every second):
# past the poller's second, so a sample a little late does not cost a frame of its own.
TICK_AFTER_SAMPLE_S = 1.25
STALL_SHOWN_S = 0.5  # a write waiting this long for the lock is news in the header


class WarroomApp(Leaving, NoteBox, OtherViews, RecordWrites):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"
    # With several servers the replication pane takes the host pane's place below 100 columns;
    # below 70 (a phone's SSH app) only connections and latency stay (warroom.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-phone"), (70, "-narrow"), (100, "-wide")]
    BINDINGS = bindings()

    def __init__(self, session: Session | Recorder, **live: Any) -> None:
        """``session``: what session.py built. A Recorder and ``live_session``'s keywords are
        the tests' and benchmarks' shorthand for a live session on it."""
        super().__init__()
        if isinstance(session, Recorder):
            from warroom.tui.session import live_session

            session = live_session(session, **live)
        self.session = session
        self.source = session.source
        self.sink = session.sink
        self.sink.bind(lambda: self.post_message(RecordChanged()))
        self.servers = session.servers
        self.interval = session.interval
        self.author = session.author
        self.clock = session.clock
        self.alerts = session.alerts
        self.drill = session.drill
        self.selected = 0
        self.local_time = False
        self._note_started: datetime | None = None
        self._note_saving: str | None = None  # the text whose write is in flight
        self._deleted: list[TimelineEntry] = []
        self._shut_down = False
        self._flushed = False
        self._quitting = False
        self._fed_since_tick = False
        self._panes_behind = False  # host or PgBouncer figures not drawn yet
        self._found: dict[type[Any], list[Any]] = {}
        self._tick_handle: asyncio.TimerHandle | None = None
        self._seen_changes = -1
        self.kept_pending = 0  # writes left in the pending file at exit
        # The first unhandled exception (a bug): run() raises it once the app has stopped.
        self.failure: Exception | None = None
        # Set by `watch --share`: a warroom.sessions.share.Sharer (threads; polled, never awaited).
        self.sharer: Any = session.sharer

    # -- running -----------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        # Ours only where Textual would pick its own LinuxDriver (not on Windows, nor with
        # TEXTUAL_DRIVER set): a terminal that goes away ends the app (see terminal.py).
        if driver.__name__ != "LinuxDriver":
            return driver
        from warroom.tui.terminal import DashboardDriver

        return DashboardDriver

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run the dashboard; an unhandled exception in it is raised from here once it has
        stopped (Textual would print its traceback and return as if all went well), so the
        command ends with one line and exit status 1."""
        result = super().run(*args, **kwargs)
        if self.failure is not None:
            raise self.failure
        return result  # what exit() was given (the snapshot tests' screenshots)

    def _handle_exception(self, error: Exception) -> None:
        # Textual's one door for an exception from a handler, a timer, compose or mount.
        if self.failure is None:
            self.failure = error
            # Before anything else: no sample, rollup or automatic entry is written after a
            # failure (what was queued before it still reaches the disk on the way out).
            self._flushed = True
            self.source.stop()
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        # The traceback Textual prints is the CLI's to show (one line; WARROOM_DEBUG=1 for more).
        if self.failure is not None:
            self._exit_renderables.clear()
        super()._print_error_renderables()

    # -- layout --------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return BlankScreen(id="_default")  # widgets/blank.py: the same picture, for less

    def compose(self) -> ComposeResult:
        # The strip and the replication pane are there to choose between servers and compare
        # them: with one server they would show one line and its own role.
        several = len(self.servers) > 1
        yield IncidentHeader(id="header")
        if several:
            yield ServersStrip(id="servers")
        with Row(id="panes"):
            yield ConnectionsPane(id="connections")
            yield LatencyPane(id="latency")
            if several:
                yield ReplicationPane(id="replication")
            if self.session.host is not None:
                host = HostPane(id="host")
                host.set_class(several, "beside-strip")
                yield host
            if any(w.bouncer is not None for w in self.servers):
                yield BouncerPane(id="bouncer")
        yield FindingsLine(id="findings")
        # The timeline, the note box and the footer in a container of their own: Textual
        # renders every widget whose container overlaps a second's changed cells (the clock at
        # the top), so on the screen itself these three were rendered whole every second.
        with Column(id="below"):
            yield TimelineTable(id="timeline")
            yield Input(
                placeholder=f"note; Enter saves, Esc hides. HH:MM backdates. {PREFIX_HELP}",
                id="note",
                # Back to a kept draft, typing goes on from its end (selected, the draft would
                # be replaced by the first key).
                select_on_focus=False,
            )
            yield Footer()

    def on_mount(self) -> None:
        if self.drill is not None:
            self.sub_title = f"drill: {self.drill.name}"
            for index, act in enumerate(self.drill.actions()):
                self.bind(act.key, f"drill({index})", description=act.label, show=True)
        self.query_one("#note", Input).display = False
        self.source.prime(self.incident)
        self.refresh_panes()
        self.refresh_timeline()
        self.refresh_live()
        self.query_one(TimelineTable).focus()
        self._arm_tick(1.0)

    def on_ready(self) -> None:
        """The first frame is on the screen (Textual's Ready): now the data source. Started in
        on_mount, the pollers' imports, connections and first samples shared the interpreter
        with the first frame's layout and delayed it."""
        if not self._flushed:  # not when the app stopped (q, a failure) before its first frame
            self.source.start(self)

    # -- live data -----------------------------------------------------------------------

    def on_collector_failed(self, message: CollectorFailed) -> None:
        self.notify(message.text, severity="error")

    def on_pg_sampled(self, message: PgSampled) -> None:
        # A poller's message can be handled after the app began closing (Textual stops the
        # app, then prunes the screens while its queue still drains): the widgets may be gone
        # by then, and stop_sampling flushes what was fed. Likewise for every sampled message.
        if self.is_running:
            with painting(self):
                if message.log is not None:
                    # Its counts are the connections pane's: drawn with this sample's refresh.
                    self.states[message.server].feed_server_log(message.log, self.clock())
                self.feed(message.sample, message.server)

    def tag(self, server: int) -> str:
        """What an automatic entry starts with: the server's name (a lone server has none)."""
        name = self.servers[server].name
        return f"[{name}] " if name else ""

    def feed(self, sample: PgSample, server: int = 0) -> None:
        """One sample through the data path: series, alerts, rollups, then the panes."""
        fed = self.states[server].feed(sample)
        tag = self.tag(server)
        for event in fed.events:
            self.record_alert(event, tag)
        for finding in fed.findings:
            self.record_finding(finding, tag)
        for change in fed.changes:
            self.log_auto(change.at, tag + change.text, Kind.CHANGE)
        if fed.rollups:
            self.queue("rollups", lambda r: r.append_samples(fed.rollups))
        # Another server's figures reach the strip with the next refresh (the selected server's
        # sample, or the tick): a strip redrawn on every server's sample costs N² rows a second.
        if server == self.selected:
            self.tick_duties()
            self.refresh_live()
            self._fed_since_tick = True
            self._arm_tick(TICK_AFTER_SAMPLE_S)

    def on_host_sampled(self, message: HostSampled) -> None:
        if not self.is_running:
            return
        # This machine's figures: kept with the first server (whose port the sockets are
        # counted to), so several servers do not record them several times.
        first = self.states[0]
        if self.session.host_is_db_host:
            first.feed_findings_host(message.sample)
        first.feed_host(message.sample)
        self._panes_behind = True

    def on_bouncer_sampled(self, message: BouncerSampled) -> None:
        if not self.is_running:
            return
        self.states[message.server].feed_bouncer(message.sample)
        if message.server == self.selected:
            self._panes_behind = True

    def on_record_changed(self, message: RecordChanged) -> None:
        # Writes finish on their own thread and may report after the widgets are gone (exit).
        with contextlib.suppress(NoMatches):
            self.refresh_record()

    def on_source_changed(self, message: SourceChanged) -> None:
        with contextlib.suppress(NoMatches):
            if message.apply():
                self.refresh_timeline()
                self.moved()

    def moved(self) -> None:
        """The clock moved (a recording's cursor): panes, header and the timeline's mark."""
        if not self.is_running:
            return  # a frame timer's last tick while the app closes: the widgets may be gone
        self.refresh_live()
        self.refresh_panes()
        entry = self.entry_at(self.clock())
        self.query_one(TimelineTable).select(entry.id if entry is not None else None)

    def entry_at(self, at: datetime) -> TimelineEntry | None:
        """The newest entry at or before ``at``: what the responder had just written."""
        found = None
        for entry in self.incident.entries_in_order():
            if entry.at > at:
                break
            found = entry
        return found

    def refresh_record(self) -> None:
        """Timeline and header, when the record changed since they were last drawn."""
        changes = self.sink.changes()
        if changes is None:
            return
        if changes != self._seen_changes:
            self._seen_changes = changes
            self.refresh_timeline()
            self.refresh_live()

    def _arm_tick(self, delay: float) -> None:
        """The tick, due ``delay`` from now unless a sample of the selected server comes first
        (which redraws all the tick would, and arms it again). A timer woke the dashboard each
        second for nothing while samples came: a tenth of its CPU. A cancelled asyncio handle
        costs no wake-up."""
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        self._tick_handle = asyncio.get_running_loop().call_later(delay, self._ticked)

    def _ticked(self) -> None:
        self._tick_handle = None
        if self._shut_down:
            return
        if not self.is_running:  # not yet, or closing: look again in a second
            self._arm_tick(1.0)
            return
        self._fed_since_tick = False  # none came for a while: the clock is behind
        try:
            self.tick()
        except Exception as exc:  # a bug: Textual's way, as from one of its own timers
            self._handle_exception(exc)
            return
        self._arm_tick(1.0)

    def tick(self) -> None:
        """The clock, the record's changes, and the age of stale data: with each sample of the
        selected server, else once a second (``_arm_tick``)."""
        with contextlib.suppress(NoMatches), painting(self):  # the last tick may come at exit
            self.tick_once()

    def tick_once(self) -> None:
        self.tick_duties()
        # A sample since the last tick already moved the clock: a second refresh would cost a
        # second frame each second. Without samples (a stalled or slower poller) the tick keeps
        # the clock and the data's age moving.
        if self._fed_since_tick:
            self._fed_since_tick = False
        else:
            self.refresh_live()

    def tick_duties(self) -> None:
        """What each second looks for besides the clock: the record, others' shared entries."""
        self.refresh_record()
        if self.sharer is not None and self.sharer.take_arrived():
            # Others' entries were merged into the store on the Sharer's thread.
            with contextlib.suppress(NoMatches):
                self.refresh_timeline()

    def header_notes(self) -> tuple[tuple[str, str], ...]:
        notes: list[tuple[str, str]] = list(self.source.header_notes())
        recorder = self.recorder
        if recorder is None:
            return tuple(notes)
        if recorder.pending and (recorder.stalled_for >= STALL_SHOWN_S or self._quitting):
            notes.append((f"record: {recorder.pending} pending", "warning"))
        if recorder.error:
            notes.append(("record: " + clean(recorder.error, 60), "error"))
        if (failing := notify_trouble()) is not None:  # memory only: the sender thread's word
            notes.append((clean(failing, 60), "error"))
        if self.sharer is not None:
            text = self.sharer.status().text
            level = "ok" if text.startswith("shared") else "warning"
            notes.append((text, "error" if self.sharer.refused else level))
        return tuple(notes)

    def presence(self) -> str:
        """Who else is in the shared incident now, for the timeline's border."""
        if self.sharer is None:
            return ""
        from warroom.sessions.share.sharer import presence_lines

        lines = presence_lines(self.sharer.status())
        return ("with: " + "; ".join(lines)) if lines else ""

    def refresh_live(self) -> None:
        now = self.clock()
        inc = self.incident
        wall = now.astimezone() if self.local_time else now
        zone = (wall.strftime("%Z") or "local") if self.local_time else "UTC"
        self.part(IncidentHeader).set_view(
            HeaderView(
                incident_id=inc.id,
                title=inc.title,
                severity=inc.severity,
                status=inc.status.value,
                clock=format_offset((inc.resolved_at or now) - inc.started_at),
                wall=f"{wall:%H:%M:%S} {zone}",
                notes=self.header_notes(),
            )
        )
        if self.sharer is not None:
            timeline = self.query_one(TimelineTable)
            presence = clean(self.presence(), 160)
            if timeline.border_subtitle != presence:
                timeline.border_subtitle = presence
        self.part(ConnectionsPane).set_view(self.state.connections_view(now, self.interval))
        self.part(LatencyPane).set_view(self.state.latency_view(now))
        self.part(FindingsLine).set_view(self.source.findings_view(self.state))
        if len(self.servers) > 1:
            self.refresh_strip(now)
            self.part(ReplicationPane).set_view(self.state.replication_view())
        if self._panes_behind:
            # Host and PgBouncer figures wait for this frame (the next sample's, or the tick's
            # when samples stop): drawn when they arrive, each poller's would be one more frame
            # a second, a good part of what the dashboard costs the CPU.
            self._panes_behind = False
            self.refresh_panes()

    def part(self, kind: type[W]) -> W:
        """The dashboard's one widget of this kind (NoMatches if gone, as ``query_one``)."""
        found = self.parts(kind)
        if not found:
            raise NoMatches(f"no {kind.__name__} on the dashboard")
        return found[0]

    def parts(self, kind: type[W]) -> list[W]:
        """The dashboard's widgets of a kind, looked up once: a query walks the whole screen
        (the footer's keys, the table's parts) and ran five times a second. A kind it lacks
        (no host, no PgBouncer) is looked for again at each call."""
        found = self._found.get(kind)
        if not found or not all(w.is_attached for w in found):
            found = self._found[kind] = list(self.query(kind))
        return found

    def refresh_strip(self, now: datetime) -> None:
        rows = tuple(state.server_row(watched.name, now, self.interval)
                     for watched, state in zip(self.servers, self.states, strict=True))  # fmt: skip
        self.part(ServersStrip).set_view(ServersView(rows, self.selected))

    def select_server(self, index: int) -> None:
        """Show ``index``'s panes below the strip; the strip and timeline stay as they are."""
        if not 0 <= index < len(self.servers) or index == self.selected:
            return
        self.selected = index
        self.source.select(index)
        name = self.servers[index].name
        for pane, title in ((ConnectionsPane, "Connections"), (LatencyPane, "Latency")):
            self.query_one(pane).border_title = f"{title} · {name}"
        self.refresh_live()
        self.refresh_panes()

    def action_step_server(self, step: int) -> None:
        self.select_server((self.selected + step) % len(self.servers))

    def action_server(self, index: int) -> None:
        self.select_server(index)

    def main_screen_keys(self) -> bool:
        """Keys mean actions (not text) here: the dashboard itself, no text box focused."""
        typing = isinstance(self.focused, (Input, TextArea))
        return not typing and self.screen is self.screen_stack[0]

    def refresh_panes(self) -> None:
        host = self.states[0].host_view()
        if host is not None:
            for pane in self.parts(HostPane):
                pane.set_view(host)
        bouncer = self.state.bouncer_view()
        if bouncer is not None:
            for bpane in self.parts(BouncerPane):
                bpane.set_view(bouncer)

    def refresh_timeline(self) -> None:
        inc = self.incident
        rows = [self.row(entry, inc) for entry in inc.entries_in_order()]
        self.query_one(TimelineTable).set_rows(rows)

    def row(self, entry: TimelineEntry, inc: Incident) -> TimelineRow:
        at = entry.at.astimezone() if self.local_time else entry.at
        return TimelineRow(
            id=entry.id,
            time=f"{at:%H:%M:%S}",
            offset=format_offset(entry.at - inc.started_at),
            kind=entry.kind.value,
            author=entry.author,
            text=entry.text,
        )

    # -- note input ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        where = WHERE.get(action)
        if where is not None and self.session.where not in where:
            return False  # hidden from the footer and refused: it does not apply here
        if action == "note":
            # `n` typed into any text box, or on a dialog, is just a letter.
            return self.main_screen_keys()
        if action in ("step_server", "server"):
            # The arrows move the cursor in a text box, and mean nothing with one server.
            return len(self.servers) > 1 and self.main_screen_keys()
        if action in YIELDS_TO_TEXT:
            return not isinstance(self.focused, (Input, TextArea))
        return True

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text: ours quote application names, queries, errors,
        and a name like ``[/]`` read as markup would crash the app or lie to the reader."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- the clock (a recording's: check_action hides these on the wall clock) -------------

    def action_play(self) -> None:
        if self.source.play():
            self.moved()

    def action_step(self, seconds: int) -> None:
        if self.source.step(seconds):
            self.moved()

    def action_entry(self, forward: int) -> None:
        if self.source.to_entry(bool(forward)):
            self.moved()

    def action_jump(self, to_end: int) -> None:
        if self.source.jump(bool(to_end)):
            self.moved()

    def action_speed(self, up: int) -> None:
        if self.source.faster(bool(up)):
            self.moved()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an entry: go to its time (on a clock that can be moved)."""
        key = event.row_key.value
        for entry in self.incident.timeline:
            if entry.id == key:
                if self.source.seek(entry.at):
                    self.moved()
                return

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from dashboard_commands(self.session.where, self.run_action, self.drill,
                                      self.servers, self.select_server)  # fmt: skip

    def busy_for(self) -> float:
        """Seconds the PostgreSQL sample in flight has taken (0 when idle); for tests and UI."""
        return self.source.busy_for()
