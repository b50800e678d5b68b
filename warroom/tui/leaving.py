"""Leaving the dashboard: `q` waits for pending writes (a second `q` leaves them pending), a note
not saved is never dropped without asking, and shutting down stops the source, writes the
partial rollups and closes everything, once, however the App ended.

Part of the App (a base class of WarroomApp).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Input

from warroom.tui.base import DashboardBase
from warroom.tui.screens.confirm import ConfirmScreen
from warroom.widgets.text import clean

QUIT_WAIT_S = 10.0  # `q` waits this long for pending writes, then leaves them pending


class Leaving(DashboardBase):
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
            if not self.is_running:
                return  # closing already: the screen's widgets may be gone
            self.refresh_live()
            if recorder.pending == 0 or time.monotonic() >= deadline:
                timer.stop()  # a tick after exit() met the pruned screen (NoMatches)
                self.exit()

        timer = self.set_interval(0.1, check)

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
