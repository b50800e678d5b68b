"""The Textual floor: the least a Textual app can do at a 1 s refresh (one line, once a second).

Run by bench_tui.py in the same tmux beside warroom and pg_activity, so its CPU and bytes say how
much of warroom's cost is Textual itself and how much is warroom's own. Draws "T+" so the
benchmark's first-frame probe works for it too. Quit with q.
"""

from __future__ import annotations

import time

from textual.app import App, ComposeResult
from textual.widgets import Static


class Floor(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static(id="clock")

    def on_mount(self) -> None:
        self.started = time.monotonic()
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        seconds = int(time.monotonic() - self.started)
        self.query_one("#clock", Static).update(f"T+{seconds:06d}", layout=False)


if __name__ == "__main__":
    Floor().run()
