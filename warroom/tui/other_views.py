"""What the dashboard opens beside itself: the backends view, the postmortem draft, a picture of
the screen, the drill's keys, the time zone and the keys' help.

Part of the App (a base class of WarroomApp).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual import work

from warroom.errors import UserError
from warroom.sessions.fileio import replace_atomically
from warroom.sessions.model import (
    Incident,
    Kind,
)
from warroom.sessions.postmortem import render
from warroom.tui.base import DashboardBase
from warroom.tui.parts import DrillAction


class OtherViews(DashboardBase):
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

    def action_new_incident(self) -> None:
        if self.session.start_incident is not None:
            self.start_incident(self.session.start_incident, self.clock())

    @work(thread=True, group="new-incident", exit_on_error=False)
    def start_incident(self, start: Callable[[datetime], Path], at: datetime) -> None:
        try:
            path = start(at)
        except (OSError, UserError) as exc:  # a full disk, a bad title: news, not a crash
            self.call_from_thread(self.notify, f"no incident started: {exc}", severity="error")
            return
        self.call_from_thread(self.notify, f"incident started at {at:%H:%M:%S} UTC: {path}",
                              timeout=30)  # fmt: skip

    def log_action(self, text: str, kind: Kind) -> bool:
        """What the user did in the backends view, naming the server it was done on."""
        return self.log_entry(self.tag(self.selected) + text, kind)


    def postmortem_path(self) -> Path:
        return self.session_path.with_suffix(".postmortem.md")

    def action_postmortem(self) -> None:
        self.write_draft(self.incident.copy(), self.postmortem_path())

    @work(thread=True, group="draft", exit_on_error=False)
    def write_draft(self, incident: Incident, path: Path) -> None:
        levels = self.alerts.saturation_levels() if self.alerts is not None else None
        draft = render(incident, saturation=levels)
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
