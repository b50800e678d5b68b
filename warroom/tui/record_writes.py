"""Writing the record from the dashboard: automatic entries, the user's edits of the timeline
and the incident, every write queued on the sink's Recorder and its answer shown when it comes.

Part of the App (a base class of WarroomApp), in a room of its own: it needs the App's session
(``sink``, ``clock``, ``author``) and its screens, and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.css.query import NoMatches

from warroom.collectors.alerts import AlertEvent, State
from warroom.collectors.findings import FindingEvent, Transition
from warroom.notify import hooks as notify
from warroom.sessions.model import (
    SEVERITIES,
    ActionItem,
    Kind,
    ModelError,
    Source,
    Status,
    TimelineEntry,
)
from warroom.sessions.mutations import Mutation
from warroom.sessions.recorder import Recorder
from warroom.tui.base import DashboardBase
from warroom.tui.messages import Written
from warroom.tui.screens.action_item import ActionItemScreen
from warroom.tui.screens.choose import ChooseScreen
from warroom.tui.screens.confirm import ConfirmScreen
from warroom.tui.screens.entry import EntryEdit, EntryEditScreen
from warroom.tui.screens.incident_form import Changes, IncidentFormScreen
from warroom.widgets.text import clean
from warroom.widgets.timeline import TimelineTable


class RecordWrites(DashboardBase):
    def record_alert(self, event: AlertEvent, tag: str = "") -> None:
        entry = TimelineEntry(
            at=event.at, text=tag + event.message, kind=Kind.ALERT, author="warroom",
            source=Source.AUTO,
        )  # fmt: skip
        # Monitoring noticed: the first raised alert sets detected_at when it is unset, in the
        # same write, so the draft's time to detect is measured, not left as a TODO.
        detects = event.state is State.RAISED
        if self.queue("alert", lambda r: r.append_entry(entry, detects=detects)):
            notify.alert_soon(self.incident, self.session_path, event, tag)  # no I/O here

    def record_finding(self, event: FindingEvent, tag: str = "") -> None:
        # Logged once per raise; a clear only leaves the findings line.
        if event.state is Transition.RAISED:
            self.log_auto(event.at, tag + event.message, Kind.FINDING)
            notify.finding_soon(self.incident, self.session_path, event, tag)  # no I/O here

    def log_auto(self, at: datetime, text: str, kind: Kind) -> None:
        entry = TimelineEntry(at=at, text=text, kind=kind, author="warroom", source=Source.AUTO)
        self.queue(f"{kind.value} entry", lambda r: r.append_entry(entry))


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
