"""Backends view: who holds connections, what runs longest, who blocks whom; the kill switch.

Every cancel or terminate asks first, naming exactly what will be signalled, and lands on the
timeline as an action with before/after counts. Database text is shown literally.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from warroom.collectors.backends import Backend, blocked_chains
from warroom.collectors.sample import Failure
from warroom.formats import age
from warroom.sessions.model import Kind
from warroom.widgets.text import clean, literal

LIMIT = 500
MODES = {
    "longest": "longest running",
    "idle_tx": "idle in transaction",
    "blocked": "blocked chains",
}


class BackendSource(Protocol):
    def list_backends(self, limit: int = LIMIT) -> list[Backend] | Failure: ...

    def signal_backends(
        self,
        *,
        pids: list[int] | None = None,
        application: str | None = None,
        terminate: bool = False,
    ) -> int | Failure: ...


def _top(counter: Counter[str], n: int = 5) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for name, count in counter.most_common(n):
        text.append(f"{clean(name, 24) or '(none)'} ", style="")
        text.append(f"{count}  ", style="bold")
    return text


class BackendsScreen(Screen[None]):
    DEFAULT_CSS = """
    BackendsScreen #summary { height: 3; }
    BackendsScreen #summary Static {
        width: 1fr; height: 3; border: round $primary-darken-1; padding: 0 1;
    }
    BackendsScreen #status { height: 1; background: $panel; padding: 0 1; }
    BackendsScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,b", "app.pop_screen", "Back", id="backends.back"),
        Binding("l", "mode('longest')", "Longest", id="backends.longest"),
        Binding("i", "mode('idle_tx')", "Idle in tx", id="backends.idle_tx"),
        Binding("k", "mode('blocked')", "Blocked", id="backends.blocked"),
        Binding("c", "signal(False, False)", "Cancel", id="backends.cancel",
                tooltip="Cancel the selected backend's query"),
        Binding("x", "signal(True, False)", "Terminate", id="backends.terminate",
                tooltip="Terminate the selected backend"),
        Binding("C", "signal(False, True)", "Cancel app", id="backends.cancel_app",
                tooltip="Cancel every backend of the selected backend's application"),
        Binding("X", "signal(True, True)", "Terminate app", id="backends.terminate_app",
                tooltip="Terminate every backend of the selected backend's application"),
    ]

    def __init__(
        self,
        source: BackendSource,
        log: Callable[[str, Kind], bool] | None = None,
        interval: float = 2.0,
    ) -> None:
        """``log``: where what the user did here goes (the App's timeline, naming the server)."""
        super().__init__()
        self.source = source
        self.log_action = log
        self.interval = interval
        self.mode = "longest"
        self.backends: list[Backend] = []
        self.shown: list[Backend] = []
        self.failure: Failure | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="summary"):
            for name in ("apps", "users", "clients"):
                pane = Static("", id=name)
                pane.border_title = f"top {name}"
                yield pane
        yield Static("loading…", id="status")
        yield DataTable(id="backends", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("pid", 8), ("application", 16), ("user", 10), ("client", 15),
                             ("state", 12), ("xact", 7), ("query", 7), ("wait", 14),
                             ("blocked by", 12), ("query text", None)):
            table.add_column(label, width=width)
        table.focus()
        self.refresh_list()
        # Only while this screen is shown: no sampling for a view nobody looks at.
        self.set_interval(self.interval, self.refresh_list)

    @work(thread=True, exclusive=True, group="backends", exit_on_error=False)
    def refresh_list(self) -> None:
        result = self.source.list_backends(LIMIT)
        self.app.call_from_thread(self.show_result, result)

    def show_result(self, result: list[Backend] | Failure) -> None:
        if isinstance(result, Failure):
            self.failure = result
            self.query_one("#status", Static).update(
                Text(f"cannot list backends: {result.kind.value}: {clean(result.message, 120)}",
                     style="bold red")
            )
            return
        self.failure = None
        self.backends = result
        self.render_list()

    def render_list(self) -> None:
        backends = self.backends
        self.query_one("#apps", Static).update(_top(Counter(b.application for b in backends)))
        self.query_one("#users", Static).update(_top(Counter(b.user for b in backends)))
        self.query_one("#clients", Static).update(_top(Counter(b.client for b in backends)))
        if self.mode == "idle_tx":
            shown = [b for b in backends if b.idle_in_transaction]
        elif self.mode == "blocked":
            shown = blocked_chains(backends)
        else:
            shown = backends
        self.shown = shown
        status = Text(no_wrap=True)
        status.append(f"{MODES[self.mode]}: {len(shown)} of {len(backends)} backends", "bold")
        status.append("   l longest  i idle-in-tx  k blocked   c/x cancel/terminate one   "
                      "C/X the whole application", style="dim")
        self.query_one("#status", Static).update(status)
        table = self.query_one(DataTable)
        selected = self.selected()
        table.clear()
        for b in shown:
            table.add_row(
                Text(str(b.pid)),
                literal(b.application),
                literal(b.user),
                literal(b.client),
                Text(clean(b.state), style="yellow" if b.idle_in_transaction else ""),
                Text(age(b.xact_s)),
                Text(age(b.query_s)),
                # ClientRead on an idle backend is the normal state, not news.
                literal(f"{b.wait_type}:{b.wait_event}"
                        if b.wait_type and b.wait_type != "Client" else ""),
                Text(",".join(map(str, b.blocked_by)), style="bold red" if b.blocked_by else ""),
                literal(b.query, limit=200),
                key=str(b.pid),
            )
        if selected is not None and selected in shown:
            table.move_cursor(row=shown.index(selected))

    def selected(self) -> Backend | None:
        table = self.query_one(DataTable)
        if not self.shown or not (0 <= table.cursor_row < len(self.shown)):
            return None
        return self.shown[table.cursor_row]

    def action_mode(self, mode: str) -> None:
        self.mode = mode
        self.render_list()

    def action_signal(self, terminate: bool, whole_app: bool) -> None:
        from warroom.tui.screens.confirm import ConfirmScreen

        target = self.selected()
        if target is None:
            self.notify("no backend selected")
            return
        verb = "Terminate" if terminate else "Cancel the query of"
        question = Text()
        if whole_app:
            count = sum(1 for b in self.backends if b.application == target.application)
            question.append(f"{verb} every backend of application ")
            question.append(clean(target.application) or "(no name)", style="bold")
            question.append(f"?\n\n{count} backend(s) now; ")
            question.append(f"{len(self.backends)} client backends in all.")
        else:
            question.append(f"{verb} backend {target.pid}?\n\n")
            question.append(f"application {clean(target.application) or '(no name)'}, ")
            question.append(f"user {clean(target.user)}, {clean(target.state)}")
            if target.query_s is not None:
                question.append(f" for {age(target.query_s)}")
            question.append("\n")
            question.append(clean(target.query, 200), style="dim")

        def done(yes: bool | None) -> None:
            if yes:
                self.run_signal(target, terminate, whole_app)

        self.app.push_screen(ConfirmScreen(question, yes="Terminate" if terminate else "Cancel"),
                             done)

    @work(thread=True, group="backend-signal", exit_on_error=False)
    def run_signal(self, target: Backend, terminate: bool, whole_app: bool) -> None:
        before_all = len(self.backends)
        before_app = sum(1 for b in self.backends if b.application == target.application)
        if whole_app:
            result = self.source.signal_backends(
                application=target.application, terminate=terminate
            )
        else:
            result = self.source.signal_backends(pids=[target.pid], terminate=terminate)
        after = self.settled_list(target, whole_app and terminate)
        self.app.call_from_thread(
            self.record, target, terminate, whole_app, result, before_all, before_app, after
        )

    def settled_list(self, target: Backend, wait_for_exit: bool) -> list[Backend] | Failure:
        """The list once terminated backends have gone (they exit asynchronously), within 3 s."""
        deadline = time.monotonic() + 3.0
        while True:
            listed = self.source.list_backends(LIMIT)
            if isinstance(listed, Failure) or not wait_for_exit or time.monotonic() > deadline:
                return listed
            if not any(b.application == target.application for b in listed):
                return listed
            time.sleep(0.2)

    def record(
        self,
        target: Backend,
        terminate: bool,
        whole_app: bool,
        result: int | Failure,
        before_all: int,
        before_app: int,
        after: list[Backend] | Failure,
    ) -> None:
        app_name = clean(target.application) or "(no name)"
        verb = "terminated" if terminate else "cancelled"
        if isinstance(result, Failure):
            self.notify(f"{verb[:-1]} failed: {result.kind.value}: {clean(result.message, 120)}",
                        severity="error", timeout=10)
            return
        what = f"{result} backend(s) of application {app_name}" if whole_app else (
            f"backend {target.pid} ({app_name}, {clean(target.state)})"
        )
        counts = ""
        if not isinstance(after, Failure):
            after_app = sum(1 for b in after if b.application == target.application)
            counts = (f" (client backends {before_all} -> {len(after)}; "
                      f"{app_name} {before_app} -> {after_app})")
            self.show_result(after)
        if self.log_action is not None:
            self.log_action(f"{verb} {what}{counts}", Kind.ACTION)
        self.notify(f"{verb} {what}")


def backends_screen_factory(
    source: BackendSource,
) -> Callable[[Callable[[str, Kind], bool]], BackendsScreen]:
    return lambda log: BackendsScreen(source, log)
