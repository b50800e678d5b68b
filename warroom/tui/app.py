"""The war room: live panes, the incident clock, the timeline, and every action one key away.

Collectors run on pollers (daemon threads) and post small messages; this thread only updates
widgets and appends to the record. Every change to the record goes through the Store, so a note
is fsynced before the input box clears.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input, TextArea

from warroom.collectors.alerts import AlertConfig, AlertEvent, State
from warroom.collectors.host import HostSample
from warroom.collectors.sample import PgSample
from warroom.sessions.fileio import replace_atomically
from warroom.sessions.model import (
    KEY_TIMES,
    SEVERITIES,
    ActionItem,
    Incident,
    Kind,
    ModelError,
    Source,
    Status,
    TimelineEntry,
)
from warroom.sessions.postmortem import render
from warroom.sessions.store import SessionError, Store
from warroom.sessions.times import TimeError, format_offset, utcnow
from warroom.tui.notes import PREFIX_HELP, parse_note
from warroom.tui.poller import Poller
from warroom.tui.screens.action_item import ActionItemScreen
from warroom.tui.screens.choose import ChooseScreen
from warroom.tui.screens.confirm import ConfirmScreen
from warroom.tui.screens.entry import EntryEdit, EntryEditScreen
from warroom.tui.screens.incident_form import ROLE_FIELDS, Changes, IncidentFormScreen
from warroom.tui.screens.postmortem import PostmortemScreen
from warroom.tui.state import LiveState
from warroom.widgets.bouncer import BouncerPane, BouncerView, PoolRow
from warroom.widgets.connections import ConnectionsPane
from warroom.widgets.header import HeaderView, IncidentHeader
from warroom.widgets.host import HostPane, HostView
from warroom.widgets.latency import LatencyPane
from warroom.widgets.text import clean
from warroom.widgets.timeline import TimelineRow, TimelineTable

HOST_EVERY_S = 3.0


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


@dataclass
class HostSampled(Message):
    """Only the newest matters: a queued one is replaced when the UI is behind."""

    sample: Any

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HostSampled)


@dataclass
class BouncerSampled(Message):
    """Only the newest matters: a queued one is replaced when the UI is behind."""

    sample: Any

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BouncerSampled)


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
    BINDINGS = [
        Binding(
            a.key, a.action, a.label, show=a.show, id=f"app.{a.action}", tooltip=a.help,
            priority=a.priority,
        )
        for a in ACTIONS
    ]

    def __init__(
        self,
        store: Store,
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
    ) -> None:
        super().__init__()
        self.store = store
        self.sources = {"postgres": postgres, "host": host, "bouncer": bouncer}
        self.interval = interval
        self.author = author
        self.clock = clock
        self.state = LiveState(alerts)
        self.state.preload(store.incident.samples)
        self.local_time = False
        self.backends_factory = backends_factory
        self.drill = drill
        self._pollers: list[Poller[Any]] = []
        self._note_started: datetime | None = None
        self._deleted: list[TimelineEntry] = []
        self._shut_down = False
        self._fed_since_tick = False
        # Set by `watch --share`: a warroom.sessions.share.Sharer (threads; polled, never awaited).
        self.sharer: Any = None

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield IncidentHeader(id="header")
        with Horizontal(id="panes"):
            yield ConnectionsPane(id="connections")
            yield LatencyPane(id="latency")
            if self.sources["host"] is not None:
                yield HostPane(id="host")
            if self.sources["bouncer"] is not None:
                yield BouncerPane(id="bouncer")
        yield TimelineTable(id="timeline")
        yield Input(
            placeholder=f"note; Enter saves, Esc hides. HH:MM backdates. {PREFIX_HELP}",
            id="note",
        )
        yield Footer()

    def on_mount(self) -> None:
        if self.drill is not None:
            self.sub_title = f"drill: {self.drill.name}"
            for index, act in enumerate(self.drill.actions()):
                self.bind(act.key, f"drill({index})", description=act.label, show=True)
        self.query_one("#note", Input).display = False
        self.refresh_timeline()
        self.refresh_live()
        self.query_one(TimelineTable).focus()
        self.set_interval(1.0, self.tick)
        self.start_polling()

    def start_polling(self) -> None:
        kinds: dict[str, Callable[[Any], Message]] = {
            "postgres": PgSampled,
            "host": HostSampled,
            "bouncer": BouncerSampled,
        }
        for name, source in self.sources.items():
            if source is None:
                continue
            make = kinds[name]
            # Host figures move slowly and psutil is not free: a few seconds is fresh enough.
            every = max(self.interval, HOST_EVERY_S) if name == "host" else self.interval
            poller: Poller[Any] = Poller(
                name,
                source.sample,
                lambda result, make=make: self.post_message(make(result)),
                every,
                on_error=lambda exc, name=name: self.call_from_thread(
                    self.notify, f"{name} collector failed: {exc}", severity="error"
                ),
            )
            self._pollers.append(poller)
            poller.start()

    # -- live data -----------------------------------------------------------------------

    def on_pg_sampled(self, message: PgSampled) -> None:
        self.feed(message.sample)

    def feed(self, sample: PgSample) -> None:
        """One sample through the data path: series, alerts, rollups, then the panes."""
        fed = self.state.feed(sample)
        for event in fed.events:
            self.record_alert(event)
        if fed.rollups:
            self.write(lambda: self.store.append_samples(fed.rollups))
        self.refresh_live()
        self._fed_since_tick = True

    def record_alert(self, event: AlertEvent) -> None:
        entry = TimelineEntry(
            at=event.at, text=event.message, kind=Kind.ALERT, author="warroom", source=Source.AUTO
        )
        if not self.write(lambda: self.store.append_entry(entry)):
            return
        if event.state is State.RAISED and self.store.incident.detected_at is None:
            # Monitoring noticed: the first alert is when the incident was detected, so the
            # draft's time to detect is measured, not left as a TODO.
            self.write(
                lambda: self.store.update(lambda i: i.set_key_time("detected_at", event.at))
            )
        self.refresh_timeline()

    def on_host_sampled(self, message: HostSampled) -> None:
        s: HostSample = message.sample
        view = HostView(
            cpu_percent=s.cpu_percent,
            mem_percent=s.mem_percent,
            swap_percent=s.swap_percent,
            load=s.load,
            tcp=tuple(sorted(s.tcp_by_state.items())),
        )
        for pane in self.query(HostPane):
            pane.set_view(view)

    def on_bouncer_sampled(self, message: BouncerSampled) -> None:
        s = message.sample
        error = getattr(s, "error", None)
        pools = tuple(
            PoolRow(
                name=f"{p.database}/{p.user}",
                cl_active=p.cl_active,
                cl_waiting=p.cl_waiting,
                sv_active=p.sv_active,
                sv_idle=p.sv_idle,
                maxwait_s=p.maxwait_s,
            )
            for p in getattr(s, "pools", ())
        )
        banner = f"DOWN {error.kind.value}: {clean(error.message, 60)}" if error else ""
        for pane in self.query(BouncerPane):
            pane.set_view(BouncerView(pools=pools, banner=banner))

    def tick(self) -> None:
        """Once a second: the clock, other writers' notes, and the age of stale data."""
        try:
            fresh = self.store.refresh()
        except SessionError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            fresh = []
        if self.sharer is not None and self.sharer.take_arrived():
            fresh = [True]  # others' entries were merged into the store in this process
        if fresh:
            self.refresh_timeline()
        # A sample since the last tick already moved the clock: a second refresh would cost a
        # second frame each second. Without samples (a stalled or slower poller) the tick keeps
        # the clock and the data's age moving.
        if self._fed_since_tick:
            self._fed_since_tick = False
        else:
            self.refresh_live()

    def refresh_live(self) -> None:
        now = self.clock()
        inc = self.store.incident
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
                sharing=self.sharer.status().text if self.sharer is not None else "",
            )
        )
        self.query_one(ConnectionsPane).set_view(self.state.connections_view(now, self.interval))
        self.query_one(LatencyPane).set_view(self.state.latency_view(now))

    def refresh_timeline(self) -> None:
        inc = self.store.incident
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

    def write(self, change: Callable[[], object]) -> bool:
        """Run a store change; a failure is shown, never raised into the UI."""
        try:
            change()
        except (SessionError, ModelError, OSError) as exc:
            self.notify(clean(str(exc)), title="not saved", severity="error", timeout=15)
            return False
        return True

    def log_entry(self, text: str, kind: Kind = Kind.NOTE, at: datetime | None = None) -> bool:
        entry = TimelineEntry(
            at=at or self.clock(), text=text, kind=kind, author=self.author, source=Source.MANUAL
        )
        ok = self.write(lambda: self.store.append_entry(entry))
        self.refresh_timeline()
        return ok

    # -- note input ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "note":
            # `n` typed into any text box, or on a dialog, is just a letter.
            typing = isinstance(self.focused, (Input, TextArea))
            if typing or self.screen is not self.screen_stack[0]:
                return False
        return True

    def action_note(self) -> None:
        note = self.query_one("#note", Input)
        if not note.display:
            # The entry's time is when typing started, not when Enter is pressed.
            self._note_started = self.clock()
            note.display = True
        # Focus now, not on the next loop turn (Widget.focus defers): keys typed right after
        # `n` arrive in the same read and must land in the box, not trigger s, i, q...
        self.screen.set_focus(note)

    @on(Input.Submitted, "#note")
    def save_note(self, event: Input.Submitted) -> None:
        note = event.input
        started = self._note_started or self.clock()
        try:
            parsed = parse_note(note.value, started)
        except TimeError as exc:
            self.notify(str(exc), title="not saved", severity="error")
            return
        if not parsed.text:
            self.hide_note()
            return
        # The text stays in the box until the store has fsynced it: a failed write loses nothing.
        if self.log_entry(parsed.text, parsed.kind, parsed.at):
            note.value = ""
            self._note_started = None
            self.hide_note()

    def hide_note(self) -> None:
        note = self.query_one("#note", Input)
        note.display = False
        self.screen.set_focus(self.query_one(TimelineTable))

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.focused is self.query_one("#note", Input):
            # Hide, keep the draft: `n` brings it back with its original start time.
            event.stop()
            self.hide_note()

    # -- timeline editing ----------------------------------------------------------------

    def selected_entry(self) -> TimelineEntry | None:
        entry_id = self.query_one(TimelineTable).selected_id
        if entry_id is None:
            self.notify("no timeline entry selected")
            return None
        try:
            return self.store.incident.entry(entry_id)
        except ModelError:
            return None

    def action_edit_entry(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return

        def done(edit: EntryEdit | None) -> None:
            if edit is None:
                return
            changes = {"at": edit.at, "kind": edit.kind, "text": edit.text}
            self.write(
                lambda: self.store.update(lambda inc: inc.replace_entry(entry.id, **changes))
            )
            self.refresh_timeline()

        self.push_screen(EntryEditScreen(entry), done)

    def action_delete_entry(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        question = Text("Delete this timeline entry?\n\n")
        question.append(f"{entry.at:%H:%M:%S} {entry.kind.value}: ", style="bold")
        question.append(clean(entry.text, 200))
        question.append("\n\n(u undoes it)", style="dim")

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if self.write(lambda: self.store.update(lambda inc: inc.remove_entry(entry.id))):
                self._deleted.append(entry)
                self.notify("deleted; u undoes it")
            self.refresh_timeline()

        self.push_screen(ConfirmScreen(question, yes="Delete"), done)

    def action_undo_delete(self) -> None:
        if not self._deleted:
            self.notify("nothing to undo")
            return
        entry = self._deleted[-1]
        if self.write(lambda: self.store.update(lambda inc: inc.timeline.append(entry))):
            self._deleted.pop()
            self.notify("restored")
        self.refresh_timeline()

    # -- incident header -----------------------------------------------------------------

    def action_status(self) -> None:
        inc = self.store.incident

        def done(choice: str | None) -> None:
            if choice is None or choice == inc.status.value:
                return
            at = self.clock()
            self.write(
                lambda: self.store.update(
                    lambda i: i.status_change(Status(choice), at, self.author, Source.MANUAL)
                )
            )
            self.refresh_timeline()
            self.refresh_live()

        self.push_screen(
            ChooseScreen("Status", [s.value for s in Status], inc.status.value), done
        )

    def action_severity(self) -> None:
        inc = self.store.incident

        def done(choice: str | None) -> None:
            if choice is None or choice == inc.severity:
                return
            old = inc.severity
            entry = TimelineEntry(
                at=self.clock(),
                text=f"severity: {old} -> {choice}",
                kind=Kind.STATUS,
                author=self.author,
                source=Source.MANUAL,
            )

            def change(i: Incident) -> None:
                i.set_severity(choice)
                i.timeline.append(entry)

            self.write(lambda: self.store.update(change))
            self.refresh_timeline()
            self.refresh_live()

        self.push_screen(ChooseScreen("Severity", list(SEVERITIES), inc.severity), done)

    def action_incident_form(self) -> None:
        inc = self.store.incident

        def check(changes: Changes) -> str | None:
            times = inc.key_times() | {k: v for k, v in changes.items() if k in KEY_TIMES}
            if times.get("started_at") is None:
                return "impact start cannot be empty"
            if "title" in changes and not str(changes["title"]).strip():
                return "the incident needs a title"
            try:
                inc.check_key_times(times)  # type: ignore[arg-type]
            except ModelError as exc:
                return str(exc)
            return None

        def done(changes: Changes | None) -> None:
            if not changes:
                return
            summary = ", ".join(sorted(changes))
            entry = TimelineEntry(
                at=self.clock(),
                text=f"incident record updated: {summary}",
                kind=Kind.NOTE,
                author=self.author,
                source=Source.MANUAL,
            )

            def apply(i: Incident) -> None:
                roles = dict(ROLE_FIELDS)
                times = i.key_times() | {k: v for k, v in changes.items() if k in KEY_TIMES}
                i.check_key_times(times)  # type: ignore[arg-type]
                for name, value in changes.items():
                    if name in KEY_TIMES:
                        setattr(i, name, value)
                    elif name in roles:
                        setattr(i.roles, name, value)
                    else:
                        setattr(i, name, value)
                i.timeline.append(entry)

            self.write(lambda: self.store.update(apply))
            self.refresh_timeline()
            self.refresh_live()

        self.push_screen(IncidentFormScreen(inc, check), done)

    def action_action_item(self) -> None:
        def done(item: ActionItem | None) -> None:
            if item is not None and self.write(lambda: self.store.append_action_item(item)):
                self.notify(f"action item added ({len(self.store.incident.action_items)} in all)")

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
        return self.store.path.with_suffix(".postmortem.md")

    def action_postmortem(self) -> None:
        draft = render(self.store.incident)
        path = self.postmortem_path()
        try:
            replace_atomically(path, draft.encode("utf-8"))
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc.strerror}", severity="error")
            return
        self.push_screen(PostmortemScreen(draft, path))

    def action_toggle_time(self) -> None:
        self.local_time = not self.local_time
        self.refresh_timeline()
        self.refresh_live()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_quit_saved(self) -> None:
        self.shutdown()
        self.exit()

    def shutdown(self) -> None:
        """Stop sampling and write the partial rollup; safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        for poller in self._pollers:
            poller.stop()
        rollups = self.state.flush()
        if rollups:
            self.write(lambda: self.store.append_samples(rollups))
        for source in self.sources.values():
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

    def busy_for(self) -> float:
        """Seconds the PostgreSQL sample in flight has taken (0 when idle); for tests and UI."""
        for poller in self._pollers:
            if poller.name == "postgres" and poller.busy_since is not None:
                return time.monotonic() - poller.busy_since
        return 0.0


def _close_quietly(source: SampleSource) -> None:
    try:
        source.close()
    except Exception:  # closing a collector mid-stall must not stop the app from exiting
        pass
