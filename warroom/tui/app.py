"""The war room's App: wiring. It composes the panes, installs the session it is given (a data
source on a clock, a sink, the actions that apply) and routes messages; the session builder
(session.py) chose the parts, so nothing here knows a live incident from a replayed one.

Collectors run on pollers (daemon threads) and post small messages; the live state turns them
into views and record changes; the Recorder writes those on its own thread. This thread never
touches the disk, the session's lock or the network: a note is fsynced before the input box
clears, and the screen keeps answering while it waits.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, TextArea

from warroom.collectors.alerts import AlertEvent, State
from warroom.collectors.findings import FindingEvent, Transition
from warroom.collectors.sample import PgSample
from warroom.sessions.fileio import replace_atomically
from warroom.sessions.model import (
    SEVERITIES,
    ActionItem,
    Incident,
    Kind,
    ModelError,
    Source,
    Status,
    TimelineEntry,
)
from warroom.sessions.mutations import Mutation
from warroom.sessions.postmortem import render
from warroom.sessions.recorder import Recorder
from warroom.sessions.times import TimeError, format_offset
from warroom.tui.keys import WHERE, YIELDS_TO_TEXT, bindings
from warroom.tui.messages import (
    BouncerSampled,
    CollectorFailed,
    HostSampled,
    NoteWritten,
    PgSampled,
    RecordChanged,
    ServerLogged,
    SourceChanged,
    Written,
)
from warroom.tui.notes import PREFIX_HELP, parse_note
from warroom.tui.palette import dashboard_commands
from warroom.tui.parts import DrillAction, Session
from warroom.tui.screens.action_item import ActionItemScreen
from warroom.tui.screens.choose import ChooseScreen
from warroom.tui.screens.confirm import ConfirmScreen
from warroom.tui.screens.entry import EntryEdit, EntryEditScreen
from warroom.tui.screens.incident_form import Changes, IncidentFormScreen
from warroom.tui.state import LiveState
from warroom.widgets.bouncer import BouncerPane
from warroom.widgets.connections import ConnectionsPane
from warroom.widgets.findings import FindingsLine
from warroom.widgets.header import IncidentHeader
from warroom.widgets.host import HostPane
from warroom.widgets.latency import LatencyPane
from warroom.widgets.servers import ReplicationPane, ServersStrip
from warroom.widgets.text import clean
from warroom.widgets.timeline import TimelineRow, TimelineTable
from warroom.widgets.views import HeaderView, ServersView

STALL_SHOWN_S = 0.5  # a write waiting this long for the lock is news in the header
QUIT_WAIT_S = 10.0  # `q` waits this long for pending writes, then leaves them pending


class WarroomApp(App[None]):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"
    # With several servers the replication pane takes the host pane's place below 100 columns.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
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

    # -- the record --------------------------------------------------------------------------

    @property
    def incident(self) -> Incident:
        """What the screen shows, as the sink has it."""
        return self.sink.incident

    @property
    def session_path(self) -> Path:
        return self.sink.path

    @property
    def recorder(self) -> Recorder | None:
        """The open writer, if any."""
        return self.sink.recorder

    @property
    def states(self) -> list[LiveState]:
        """One live state per watched server (a recording's seek makes new ones)."""
        return self.source.states

    @property
    def state(self) -> LiveState:
        """The selected server's: what the panes below the strip show."""
        return self.source.states[self.selected]

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The strip and the replication pane are there to choose between servers and compare
        # them: with one server they would show one line and its own role.
        several = len(self.servers) > 1
        yield IncidentHeader(id="header")
        if several:
            yield ServersStrip(id="servers")
        with Horizontal(id="panes"):
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
        yield TimelineTable(id="timeline")
        yield Input(
            placeholder=f"note; Enter saves, Esc hides. HH:MM backdates. {PREFIX_HELP}",
            id="note",
            # Back to a kept draft, typing goes on from its end (selected, the draft would be
            # replaced by the first key).
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
        self.set_interval(1.0, self.tick)
        self.source.start(self)

    # -- live data -----------------------------------------------------------------------

    def on_collector_failed(self, message: CollectorFailed) -> None:
        self.notify(message.text, severity="error")

    def on_pg_sampled(self, message: PgSampled) -> None:
        # A poller's message can be handled after the app began closing (Textual stops the
        # app, then prunes the screens while its queue still drains): the widgets may be gone
        # by then, and stop_sampling flushes what was fed. Likewise for every sampled message.
        if self.is_running:
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
            self.refresh_live()
            self._fed_since_tick = True

    def record_alert(self, event: AlertEvent, tag: str = "") -> None:
        entry = TimelineEntry(
            at=event.at, text=tag + event.message, kind=Kind.ALERT, author="warroom",
            source=Source.AUTO,
        )  # fmt: skip
        # Monitoring noticed: the first raised alert sets detected_at when it is unset, in the
        # same write, so the draft's time to detect is measured, not left as a TODO.
        detects = event.state is State.RAISED
        self.queue("alert", lambda r: r.append_entry(entry, detects=detects))

    def record_finding(self, event: FindingEvent, tag: str = "") -> None:
        # Logged once per raise; a clear only leaves the findings line.
        if event.state is Transition.RAISED:
            self.log_auto(event.at, tag + event.message, Kind.FINDING)

    def log_auto(self, at: datetime, text: str, kind: Kind) -> None:
        entry = TimelineEntry(at=at, text=text, kind=kind, author="warroom", source=Source.AUTO)
        self.queue(f"{kind.value} entry", lambda r: r.append_entry(entry))

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

    def on_server_logged(self, message: ServerLogged) -> None:
        if not self.is_running:
            return
        self.states[message.server].feed_server_log(message.counts, self.clock())
        if message.server == self.selected:
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

    def tick(self) -> None:
        """Once a second: the clock, the record's changes, and the age of stale data."""
        with contextlib.suppress(NoMatches):  # the last tick may come while the app exits
            self.tick_once()

    def tick_once(self) -> None:
        self.refresh_record()
        if self.sharer is not None and self.sharer.take_arrived():
            # Others' entries were merged into the store on the Sharer's thread.
            with contextlib.suppress(NoMatches):
                self.refresh_timeline()
        # A sample since the last tick already moved the clock: a second refresh would cost a
        # second frame each second. Without samples (a stalled or slower poller) the tick keeps
        # the clock and the data's age moving.
        if self._fed_since_tick:
            self._fed_since_tick = False
        else:
            self.refresh_live()

    def header_notes(self) -> tuple[tuple[str, str], ...]:
        notes: list[tuple[str, str]] = list(self.source.header_notes())
        recorder = self.recorder
        if recorder is None:
            return tuple(notes)
        if recorder.pending and (recorder.stalled_for >= STALL_SHOWN_S or self._quitting):
            notes.append((f"record: {recorder.pending} pending", "warning"))
        if recorder.error:
            notes.append(("record: " + clean(recorder.error, 60), "error"))
        if self.sharer is not None:
            text = self.sharer.status().text
            notes.append((text, "ok" if text.startswith("shared") else "warning"))
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
        self.query_one(IncidentHeader).set_view(
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
        self.query_one(ConnectionsPane).set_view(self.state.connections_view(now, self.interval))
        self.query_one(LatencyPane).set_view(self.state.latency_view(now))
        self.query_one(FindingsLine).set_view(self.source.findings_view(self.state))
        if len(self.servers) > 1:
            self.refresh_strip(now)
            self.query_one(ReplicationPane).set_view(self.state.replication_view())
        if self._panes_behind:
            # Host and PgBouncer figures wait for this frame (the next sample's, or the tick's
            # when samples stop): drawn when they arrive, each poller's would be one more frame
            # a second, a good part of what the dashboard costs the CPU.
            self._panes_behind = False
            self.refresh_panes()

    def refresh_strip(self, now: datetime) -> None:
        rows = tuple(state.server_row(watched.name, now, self.interval)
                     for watched, state in zip(self.servers, self.states, strict=True))  # fmt: skip
        self.query_one(ServersStrip).set_view(ServersView(rows, self.selected))

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
            for pane in self.query(HostPane):
                pane.set_view(host)
        bouncer = self.state.bouncer_view()
        if bouncer is not None:
            for bpane in self.query(BouncerPane):
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

    # -- writing the record --------------------------------------------------------------

    def queue(
        self,
        label: str,
        write: Callable[[Recorder], Future[Any]],
        done: Callable[[], None] | None = None,
    ) -> bool:
        """Queue a write on the Recorder; a failure is shown when it comes, never raised."""
        if not self.sink.records:
            self.notify(self.sink.refusal, severity="warning")
            return False
        if self.failure is not None:
            return False  # the app is ending on a bug: samples still queued record nothing
        future = write(self.sink.writer())

        def finished(f: Future[Any]) -> None:
            exc = f.exception()
            self.post_message(Written(label, clean(str(exc)) if exc else None, done))

        future.add_done_callback(finished)
        return True

    def on_written(self, message: Written) -> None:
        with contextlib.suppress(NoMatches):
            self.report_written(message)

    def report_written(self, message: Written) -> None:
        if message.error is not None:
            self.notify(message.error, title=f"not saved: {message.label}", severity="error",
                        timeout=15)  # fmt: skip
        elif message.done is not None:
            message.done()
        self.refresh_live()

    def log_entry(self, text: str, kind: Kind = Kind.NOTE, at: datetime | None = None) -> bool:
        entry = TimelineEntry(
            at=at or self.clock(), text=text, kind=kind, author=self.author, source=Source.MANUAL
        )
        return self.queue(f"{kind.value} entry", lambda r: r.append_entry(entry))

    def change(self, mutation: Mutation, done: Callable[[], None] | None = None) -> bool:
        return self.queue(mutation.label, lambda r: r.mutate(mutation), done)

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

    def action_note(self) -> None:
        note = self.query_one("#note", Input)
        if not note.display:
            # The entry's time is when typing started, not when Enter is pressed.
            if self._note_started is None:
                self._note_started = self.clock()
            note.display = True
        # Focus now, not on the next loop turn (Widget.focus defers): keys typed right after
        # `n` arrive in the same read and must land in the box, not trigger s, i, q...
        self.screen.set_focus(note)

    @on(Input.Submitted, "#note")
    def save_note(self, event: Input.Submitted) -> None:
        note = event.input
        if self._note_saving is not None:
            self.notify("still saving the previous note", severity="warning")
            return
        started = self._note_started or self.clock()
        try:
            parsed = parse_note(note.value, started)
        except TimeError as exc:
            self.notify(str(exc), title="not saved", severity="error")
            return
        if not parsed.text:
            self.hide_note()
            return
        recorder = self.sink.writer()
        entry = TimelineEntry(
            at=parsed.at, text=parsed.text, kind=parsed.kind, author=self.author,
            source=self.sink.note_source,
        )  # fmt: skip
        typed = note.value
        self._note_saving = typed
        note.border_title = "saving…"
        future = recorder.append_entry(entry)

        def finished(f: Future[Any]) -> None:
            exc = f.exception()
            self.post_message(NoteWritten(typed, clean(str(exc)) if exc else None))

        # The text stays in the box until the Recorder has fsynced it: a failed write loses
        # nothing, and the screen answers keys meanwhile.
        future.add_done_callback(finished)

    def on_note_written(self, message: NoteWritten) -> None:
        with contextlib.suppress(NoMatches):
            self.note_written(message)

    def note_written(self, message: NoteWritten) -> None:
        self._note_saving = None
        note = self.query_one("#note", Input)
        note.border_title = None
        if message.error is not None:
            note.border_title = "not saved"
            self.notify(message.error, title="note not saved (it is still in the box)",
                        severity="error", timeout=15)  # fmt: skip
            return
        if note.value == message.text:
            note.value = ""
            self._note_started = None
            if self.focused is note:
                self.hide_note()
            else:
                note.display = False
        self.refresh_record()

    def hide_note(self) -> None:
        note = self.query_one("#note", Input)
        note.display = False
        self.screen.set_focus(self.query_one(TimelineTable))

    def on_key(self, event: Any) -> None:
        if event.key != "escape":
            return
        if self.focused is self.query_one("#note", Input):
            # Hide, keep the draft: `n` brings it back with its original start time.
            event.stop()
            self.hide_note()
        elif self.screen.query("HelpPanel"):
            event.stop()
            self.action_hide_help_panel()

    def unsaved_note(self) -> str:
        """The note box's text when it is not on disk nor on its way there ("" when none)."""
        text = self.query_one("#note", Input).value
        return text if text.strip() and text != self._note_saving else ""

    # -- timeline editing ----------------------------------------------------------------

    def selected_entry(self) -> TimelineEntry | None:
        entry_id = self.query_one(TimelineTable).selected_id
        if entry_id is None:
            self.notify("no timeline entry selected")
            return None
        try:
            return self.incident.entry(entry_id)
        except ModelError:
            return None

    def action_edit_entry(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return

        def done(edit: EntryEdit | None) -> None:
            if edit is not None:
                self.change(Mutation.edit(entry.id, edit.at, edit.kind, edit.text))

        self.push_screen(EntryEditScreen(entry), done)

    def action_delete_entry(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        question = Text("Delete this timeline entry?\n\n")
        question.append(f"{entry.at:%H:%M:%S} {entry.kind.value}: ", style="bold")
        question.append(clean(entry.text, 200))
        question.append("\n\n(u undoes it)", style="dim")

        def deleted() -> None:
            self._deleted.append(entry)
            self.notify("deleted; u undoes it")

        def done(yes: bool | None) -> None:
            if yes:
                self.change(Mutation.delete(entry.id), deleted)

        self.push_screen(ConfirmScreen(question, yes="Delete"), done)

    def action_undo_delete(self) -> None:
        if not self._deleted:
            self.notify("nothing to undo")
            return
        entry = self._deleted.pop()
        self.change(Mutation.restore(entry), lambda: self.notify("restored"))

    # -- incident header -----------------------------------------------------------------

    def action_status(self) -> None:
        inc = self.incident

        def done(choice: str | None) -> None:
            if choice is None or choice == inc.status.value:
                return
            self.change(Mutation.status(choice, self.clock(), self.author, Source.MANUAL))

        self.push_screen(
            ChooseScreen("Status", [s.value for s in Status], inc.status.value), done
        )

    def action_severity(self) -> None:
        inc = self.incident

        def done(choice: str | None) -> None:
            if choice is None or choice == inc.severity:
                return
            self.change(Mutation.severity(choice, self.clock(), self.author, Source.MANUAL))

        self.push_screen(ChooseScreen("Severity", list(SEVERITIES), inc.severity), done)

    def action_incident_form(self) -> None:
        inc = self.incident

        def check(changes: Changes) -> str | None:
            try:
                inc.check_changes(changes)
            except ModelError as exc:
                return str(exc)
            return None

        def done(changes: Changes | None) -> None:
            if changes:
                self.change(Mutation.form(changes, self.clock(), self.author, Source.MANUAL))

        self.push_screen(IncidentFormScreen(inc, check), done)

    def action_action_item(self) -> None:
        def added() -> None:
            self.notify(f"action item added ({len(self.incident.action_items)} in all)")

        def done(item: ActionItem | None) -> None:
            if item is not None:
                self.queue("action item", lambda r: r.append_action_item(item), added)

        self.push_screen(ActionItemScreen(), done)

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

    # -- drills --------------------------------------------------------------------------

    def action_drill(self, index: int) -> None:
        if self.drill is None:
            return
        self.run_drill(self.drill.actions()[index])

    @work(thread=True, group="drill", exit_on_error=False)
    def run_drill(self, act: DrillAction) -> None:
        try:
            done = act.run()
        except Exception as exc:  # a drill step failing is news for the user, not a crash
            self.call_from_thread(self.notify, f"{act.label} failed: {exc}", severity="error")
            return
        self.call_from_thread(self.log_entry, done, Kind.ACTION)

    # -- other views ---------------------------------------------------------------------

    def action_backends(self) -> None:
        factory = self.servers[self.selected].backends_factory
        if factory is None:
            self.notify("the backends view needs a live database (warroom watch --dsn ...)")
            return
        self.push_screen(factory(self.log_action))

    def log_action(self, text: str, kind: Kind) -> bool:
        """What the user did in the backends view, naming the server it was done on."""
        return self.log_entry(self.tag(self.selected) + text, kind)

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

    def postmortem_path(self) -> Path:
        return self.session_path.with_suffix(".postmortem.md")

    def action_postmortem(self) -> None:
        self.write_draft(self.incident.copy(), self.postmortem_path())

    @work(thread=True, group="draft", exit_on_error=False)
    def write_draft(self, incident: Incident, path: Path) -> None:
        draft = render(incident)
        try:
            replace_atomically(path, draft.encode("utf-8"))
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"cannot write {path}: {exc.strerror}", severity="error"
            )
            return
        # Imported here: Textual's Markdown widgets cost a tenth of the first frame.
        from warroom.tui.screens.postmortem import PostmortemScreen

        self.call_from_thread(self.push_screen, PostmortemScreen(draft, path))

    def action_screenshot(self) -> None:
        stamp = f"{self.clock():%Y%m%dT%H%M%S}"
        name = f"{self.session_path.stem}.screen-{stamp}.svg"
        svg = self.export_screenshot(title=f"warroom {self.incident.id} {stamp}")
        self.save_picture(self.session_path.with_name(name), svg)

    @work(thread=True, group="picture", exit_on_error=False)
    def save_picture(self, path: Path, svg: str) -> None:
        try:
            replace_atomically(path, svg.encode("utf-8"))
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"cannot write {path}: {exc.strerror}", severity="error"
            )
            return
        self.call_from_thread(self.notify, f"screen saved to {path}")

    def action_toggle_time(self) -> None:
        self.local_time = not self.local_time
        self.refresh_timeline()
        self.refresh_live()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    # -- leaving -------------------------------------------------------------------------

    async def action_quit(self) -> None:
        # Textual's ctrl+q: the same way out as `q` (it exited at once, the note box and any
        # pending writes unasked).
        self.action_quit_saved()

    def action_quit_saved(self) -> None:
        """Quit once every write is on disk; a second `q` leaves the rest in the pending file.

        A note typed and not saved is never dropped without a word: quitting asks first."""
        if self._quitting:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen) and self.screen.id == "drop-note":
            return  # already asking
        draft = self.unsaved_note()
        if draft:
            self.ask_to_drop(draft)
            return
        self._quitting = True
        self.stop_sampling()
        recorder = self.recorder
        if recorder is None or recorder.pending == 0:
            self.exit()
            return
        self.notify(f"writing {recorder.pending} pending… (q again leaves them pending beside "
                    "the session; the next writer adds them)", timeout=QUIT_WAIT_S)  # fmt: skip
        deadline = time.monotonic() + QUIT_WAIT_S

        def check() -> None:
            self.refresh_live()
            if recorder.pending == 0 or time.monotonic() >= deadline:
                self.exit()

        self.set_interval(0.1, check)

    def ask_to_drop(self, draft: str) -> None:
        question = Text("The note box holds a note that is not saved:\n\n")
        question.append(clean(draft, 300), style="bold")
        question.append("\n\nQuit and drop it? No goes back to it (Enter saves it).")

        def done(drop: bool | None) -> None:
            if drop:
                self.query_one("#note", Input).value = ""
                self._note_started = None
                self.action_quit_saved()
            else:
                self.action_note()

        screen = ConfirmScreen(question, yes="Quit, drop it")
        screen.id = "drop-note"
        self.push_screen(screen, done)

    def stop_sampling(self) -> None:
        """Stop the pollers and queue the partial rollup; safe to call twice."""
        if self._flushed:
            return
        self._flushed = True
        self.source.stop()
        rollups = [r for state in self.states for r in state.flush()]
        if rollups and self.sink.records:
            self.sink.writer().append_samples(rollups)

    def shutdown(self) -> None:
        """Stop sampling, write what is queued (briefly), close the sources; safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self.stop_sampling()
        self.kept_pending = self.sink.close(timeout=2.0)
        self.source.close()

    async def on_unmount(self) -> None:
        self.shutdown()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from dashboard_commands(self.session.where, self.run_action, self.drill,
                                      self.servers, self.select_server)  # fmt: skip

    def busy_for(self) -> float:
        """Seconds the PostgreSQL sample in flight has taken (0 when idle); for tests and UI."""
        return self.source.busy_for()
