"""The war room: live panes, the incident clock, the timeline, and every action one key away.

Collectors run on pollers (daemon threads) and post small messages; the live state turns them
into views and record changes; the Recorder writes those on its own thread. This thread never
touches the disk, the session's lock or the network: a note is fsynced before the input box
clears, and the screen keeps answering while it waits.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input, TextArea

from warroom.collectors.alerts import AlertConfig, AlertEvent, State
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
    rollups_by_server,
)
from warroom.sessions.mutations import Mutation
from warroom.sessions.postmortem import render
from warroom.sessions.recorded import Recording
from warroom.sessions.recorder import Recorder
from warroom.sessions.times import TimeError, format_offset, utcnow
from warroom.tui.notes import PREFIX_HELP, parse_note
from warroom.tui.poller import Poller
from warroom.tui.screens.action_item import ActionItemScreen
from warroom.tui.screens.choose import ChooseScreen
from warroom.tui.screens.confirm import ConfirmScreen
from warroom.tui.screens.entry import EntryEdit, EntryEditScreen
from warroom.tui.screens.incident_form import Changes, IncidentFormScreen
from warroom.tui.state import CHART_SPAN_S, LiveState
from warroom.widgets.bouncer import BouncerPane
from warroom.widgets.connections import ConnectionsPane
from warroom.widgets.findings import FindingsLine
from warroom.widgets.header import IncidentHeader
from warroom.widgets.host import HostPane
from warroom.widgets.latency import LatencyPane
from warroom.widgets.servers import ReplicationPane, ServersStrip
from warroom.widgets.text import clean
from warroom.widgets.timeline import TimelineRow, TimelineTable
from warroom.widgets.views import FindingsView, HeaderView, ServersView

HOST_EVERY_S = 3.0
STALL_SHOWN_S = 0.5  # a write waiting this long for the lock is news in the header
QUIT_WAIT_S = 10.0  # `q` waits this long for pending writes, then leaves them pending


class SampleSource(Protocol):
    def sample(self) -> Any: ...

    def close(self) -> None: ...


class DrillAction(Protocol):
    """A key the drill adds (e.g. "reconfigure the pool"); ``run`` says what it did."""

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def help(self) -> str: ...

    @property
    def run(self) -> Callable[[], str]: ...


class Drill(Protocol):
    """What `warroom demo` plugs into the dashboard (a DrillRun); the app knows nothing else."""

    name: str

    def actions(self) -> Sequence[DrillAction]: ...


@dataclass
class PgSampled(Message):
    """Never replaced by a newer one: every sample feeds the series, the alerts and the rollups."""

    sample: PgSample
    server: int = 0  # which watched server (its index in the strip)


@dataclass
class HostSampled(Message):
    """Only the newest matters: a queued one is replaced when the UI is behind."""

    sample: Any

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HostSampled)


@dataclass
class ServerLogged(Message):
    """A window of a server's own log (LogCounts): each one counts, so none is replaced."""

    counts: Any
    server: int = 0


@dataclass
class BouncerSampled(Message):
    """Only the newest of one server matters: a queued one is replaced when the UI is behind."""

    sample: Any
    server: int = 0

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BouncerSampled) and message.server == self.server


@dataclass
class Watched:
    """One server the dashboard watches: its sources and the name the strip and timeline use."""

    name: str
    postgres: SampleSource | None = None
    bouncer: SampleSource | None = None
    backends_factory: Callable[[], Screen[None]] | None = None


@dataclass
class CollectorFailed(Message):
    """A collector raised (a bug, not a database failure: those are down samples)."""

    text: str


class RecordChanged(Message):
    """The record changed on disk (ours or another writer's): redraw the timeline and header."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RecordChanged)


@dataclass
class Written(Message):
    """A queued write finished; ``error`` is why it failed, None when it is on disk."""

    label: str
    error: str | None
    done: Callable[[], None] | None = None


@dataclass
class NoteWritten(Message):
    """The typed note was fsynced (error None), or could not be: then the draft stays."""

    text: str
    error: str | None


@dataclass(frozen=True, slots=True)
class Act:
    """One user action: a key, a palette entry and a footer label, from one table."""

    key: str
    action: str
    label: str
    help: str
    show: bool = True
    priority: bool = False


ACTIONS: tuple[Act, ...] = (
    # Priority: the app handles `n` the moment it reads it, so text typed in the same burst
    # already goes to the note box (a normal binding runs a loop turn later, too late).
    Act("n", "note", "Note", "Add a note to the timeline (HH:MM backdates; " + PREFIX_HELP + ")",
        priority=True),
    Act("e", "edit_entry", "Edit", "Edit the selected timeline entry (time, kind, text)"),
    Act("d,delete", "delete_entry", "Delete", "Delete the selected timeline entry (asks first)",
        show=False),
    Act("u", "undo_delete", "Undo", "Undo the last delete", show=False),
    Act("s", "status", "Status", "Change the incident status"),
    Act("v", "severity", "Severity", "Change the incident severity", show=False),
    Act("i", "incident_form", "Incident", "Edit title, key times, summary, root cause, roles",
        show=False),
    Act("a", "action_item", "Action item", "Add a follow-up to the postmortem's checklist",
        show=False),
    Act("b", "backends", "Backends", "Who holds connections; cancel or terminate backends"),
    Act("p", "postmortem", "Draft", "Write the postmortem draft and show it"),
    Act("t", "toggle_time", "UTC/local", "Show times in UTC or local time", show=False),
    Act("question_mark", "help", "Help", "Show the keys"),
    Act("q", "quit_saved", "Quit", "Quit (everything is already saved)"),
)


class WarroomApp(App[None]):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"
    # With several servers the replication pane takes the host pane's place below 100 columns.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding(
            a.key, a.action, a.label, show=a.show, id=f"app.{a.action}", tooltip=a.help,
            priority=a.priority,
        )
        for a in ACTIONS
    ] + [Binding("S", "screenshot", "Screenshot", show=False, id="app.screenshot",
                 tooltip="Save an SVG picture of the screen beside the session"),
         # Priority: the timeline would take the arrows otherwise; check_action lets them
         # through to a text box and when only one server is watched.
         Binding("left", "step_server(-1)", "Prev server", show=False, priority=True,
                 id="app.prev_server"),
         Binding("right", "step_server(1)", "Next server", show=False, priority=True,
                 id="app.next_server")] + [
        Binding(str(n), f"server({n - 1})", f"Server {n}", show=False, id=f"app.server{n}",
                tooltip="Show this server's panes (with several servers)")
        for n in range(1, 10)
    ]

    def __init__(
        self,
        recorder: Recorder | None,
        *,
        postgres: SampleSource | None = None,
        host: SampleSource | None = None,
        bouncer: SampleSource | None = None,
        interval: float = 1.0,
        alerts: AlertConfig | None = None,
        author: str = "",
        clock: Callable[[], datetime] = utcnow,
        backends_factory: Callable[[], Screen[None]] | None = None,
        drill: Drill | None = None,
        servers: Sequence[Watched] | None = None,
    ) -> None:
        super().__init__()
        self.recorder = recorder
        if recorder is not None:
            recorder.on_change = lambda: self.post_message(RecordChanged())
        if servers is None:
            servers = [Watched("", postgres, bouncer, backends_factory)]
        self.servers = list(servers)
        # One server: its name stays out of the record and the timeline, as before.
        self.multi = len(self.servers) > 1
        first = self.servers[0]
        self.sources = {"postgres": first.postgres, "host": host,
                        "bouncer": next((w.bouncer for w in self.servers if w.bouncer), None)}
        self.interval = interval
        self.author = author
        self.clock = clock
        self.alerts = alerts
        self.states = [LiveState(alerts, server=w.name if self.multi else None)
                       for w in self.servers]  # fmt: skip
        self.selected = 0
        self.state = self.states[0]
        self.local_time = False
        self.backends_factory = first.backends_factory
        self.drill = drill
        self._pollers: list[Poller[Any]] = []
        self._logs: list[SampleSource] = []  # the server-log readers start_polling makes
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
        self.sharer: Any = None

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
            for poller in self._pollers:
                poller.stop()
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        # The traceback Textual prints is the CLI's to show (one line; WARROOM_DEBUG=1 for more).
        if self.failure is not None:
            self._exit_renderables.clear()
        super()._print_error_renderables()

    # -- the record --------------------------------------------------------------------------

    @property
    def incident(self) -> Incident:
        """What the screen shows; the Recorder's thread keeps it in step with the file."""
        assert self.recorder is not None
        return self.recorder.store.incident

    @property
    def session_path(self) -> Path:
        assert self.recorder is not None
        return self.recorder.store.path

    def has_pane(self, name: str) -> bool:
        return self.sources[name] is not None

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield IncidentHeader(id="header")
        if self.multi:
            yield ServersStrip(id="servers")
        with Horizontal(id="panes"):
            yield ConnectionsPane(id="connections")
            yield LatencyPane(id="latency")
            if self.multi:
                yield ReplicationPane(id="replication")
            if self.has_pane("host"):
                host = HostPane(id="host")
                host.set_class(self.multi, "multi")
                yield host
            if self.has_pane("bouncer"):
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
        self.show_history()
        self.refresh_timeline()
        self.refresh_live()
        self.query_one(TimelineTable).focus()
        self.set_interval(1.0, self.tick)
        self.start_polling()

    def show_history(self) -> None:
        """A resumed session's recorded last minutes, through the same path as live samples."""
        by_server = rollups_by_server(self.incident.samples)
        for state in self.states:
            # Each server's own rollups (a one-server session's carry no name).
            mine = by_server.get(state.server, [])
            if not mine:
                continue
            recording = Recording(mine[-int(CHART_SPAN_S // 5) :])
            end = recording.end
            assert end is not None
            state.feed_history(recording.between(end - timedelta(seconds=CHART_SPAN_S), end))
        self.refresh_panes()

    def start_polling(self) -> None:
        # One poller per source and server: a stalled server never delays another's figures.
        plan: list[tuple[str, SampleSource, Callable[[Any], Message], float]] = []
        for index, watched in enumerate(self.servers):
            where = f":{watched.name}" if self.multi else ""
            if watched.postgres is not None:
                plan.append((f"postgres{where}", watched.postgres,
                             lambda r, i=index: PgSampled(r, i), self.interval))  # fmt: skip
                from warroom.collectors.serverlog.source import ServerLogSource

                log = ServerLogSource.beside(watched.postgres)  # None unless a live collector
                if log is not None:
                    self._logs.append(log)
                    plan.append((f"serverlog{where}", log,
                                 lambda r, i=index: ServerLogged(r, i), self.interval))  # fmt: skip
            if watched.bouncer is not None:
                plan.append((f"bouncer{where}", watched.bouncer,
                             lambda r, i=index: BouncerSampled(r, i), self.interval))  # fmt: skip
        host = self.sources["host"]
        if host is not None:
            # Host figures move slowly and psutil is not free: a few seconds is fresh enough.
            plan.append(("host", host, HostSampled, max(self.interval, HOST_EVERY_S)))
        for name, source, make, every in plan:
            poller: Poller[Any] = Poller(
                name,
                source.sample,
                lambda result, make=make: self.post_message(make(result)),
                every,
                # A message, not call_from_thread: that waits for the loop, and raises in the
                # poller's thread when a failure comes as the app exits.
                on_error=lambda exc, name=name: self.post_message(
                    CollectorFailed(f"{name} collector failed: {exc}")
                ),
            )
            self._pollers.append(poller)
            poller.start()

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
        """What an automatic entry starts with: the server's name, when there are several."""
        return f"[{self.servers[server].name}] " if self.multi else ""

    def selected_tag(self) -> str:
        """The tag of the server whose panes (and backends view) are shown."""
        return self.tag(self.selected)

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
        if getattr(self.sources["postgres"], "is_local", False):
            # Host CPU is evidence for the findings only when this is the database's host.
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

    def refresh_record(self) -> None:
        """Timeline and header, when the record changed since they were last drawn."""
        if self.recorder is None:
            return
        changes = self.recorder.store.changes
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
        recorder = self.recorder
        if recorder is None:
            return ()
        notes: list[tuple[str, str]] = []
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
        self.query_one(FindingsLine).set_view(self.findings_view())
        if self.multi:
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
        if not self.multi or not 0 <= index < len(self.servers) or index == self.selected:
            return
        self.selected = index
        self.state = self.states[index]
        self.backends_factory = self.servers[index].backends_factory
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

    def findings_view(self) -> FindingsView:
        return self.state.findings_view()

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
        if self.recorder is None:
            self.notify("replay is read-only: n adds a review note", severity="warning")
            return False
        if self.failure is not None:
            return False  # the app is ending on a bug: samples still queued record nothing
        future = write(self.recorder)

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
        if action == "note":
            # `n` typed into any text box, or on a dialog, is just a letter.
            return self.main_screen_keys()
        if action in ("step_server", "server"):
            # The arrows move the cursor in a text box, and mean nothing with one server.
            return self.multi and self.main_screen_keys()
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

    def note_source(self) -> Source:
        return Source.MANUAL

    def writer(self) -> Recorder | None:
        """Where a typed note goes."""
        return self.recorder

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
        recorder = self.writer()
        if recorder is None:
            self.notify("this session cannot be written", severity="error")
            return
        entry = TimelineEntry(
            at=parsed.at, text=parsed.text, kind=parsed.kind, author=self.author,
            source=self.note_source(),
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
        if self.backends_factory is None:
            self.notify("the backends view needs a live database (warroom watch --dsn ...)")
            return
        self.push_screen(self.backends_factory())

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
        for poller in self._pollers:
            poller.stop()
        rollups = [r for state in self.states for r in state.flush()]
        if rollups and self.recorder is not None:
            self.recorder.append_samples(rollups)

    def shutdown(self) -> None:
        """Stop sampling, write what is queued (briefly), close the sources; safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self.stop_sampling()
        if self.recorder is not None:
            self.kept_pending = self.recorder.close(timeout=2.0)
        sources = [self.sources["host"]]
        sources += [s for w in self.servers for s in (w.postgres, w.bouncer)] + self._logs
        for source in sources:
            if source is not None:
                _close_quietly(source)

    async def on_unmount(self) -> None:
        self.shutdown()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.drill is not None:
            for index, drill_act in enumerate(self.drill.actions()):
                yield SystemCommand(
                    f"Drill: {drill_act.label} ({drill_act.key})",
                    drill_act.help,
                    lambda i=index: self.action_drill(i),
                )
        for act in ACTIONS:
            yield SystemCommand(
                f"{act.label} ({act.key.split(',')[0].replace('question_mark', '?')})",
                act.help,
                lambda name=act.action: self.run_action(name),
            )
        yield SystemCommand("Screenshot (S)", "Save an SVG picture of the screen beside the "
                            "session", self.action_screenshot)  # fmt: skip
        for index, watched in enumerate(self.servers if self.multi else ()):
            yield SystemCommand(f"Server: {clean(watched.name, 40)} ({index + 1})",
                                "Show this server's panes below the strip",
                                lambda i=index: self.select_server(i))  # fmt: skip

    def busy_for(self) -> float:
        """Seconds the PostgreSQL sample in flight has taken (0 when idle); for tests and UI."""
        for poller in self._pollers:
            if poller.name.startswith("postgres") and poller.busy_since is not None:
                return time.monotonic() - poller.busy_since
        return 0.0


def _close_quietly(source: SampleSource) -> None:
    try:
        source.close()
    except Exception:  # closing a collector mid-stall must not stop the app from exiting
        pass
