"""Backends view: who holds connections, what runs longest, who blocks whom; the kill switch.

The query text fills what the narrow fixed columns leave, the pane under the table holds the
selected backend's facts and Enter opens it whole (backends_detail.py). `/` filters and `s`
sorts (backends_filter.py), both named in the header. Space tags rows by pid and backend start,
so a pid the server reused since is never signalled; `c`/`x` act on the tagged set when there
is one, `!` on a predicate (backends_predicate.py). `E` explains and `y` copies the selected
query (backends_text.py). Every cancel or terminate asks first, naming exactly what will be
signalled, and lands on the timeline as one action with before/after counts. Every read and
signal runs in a thread worker on the monitoring connection; database text is shown literally.

In a replay with frames (``recorded``) the view is read-only: it shows the backends of the frame
at the cursor's moment, read again on a worker whenever the cursor moves, and says when they were
recorded; tagging, the signals and explain are hidden (check_action).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from warroom.collectors.backends import Backend, blocked_chains
from warroom.collectors.sample import Failure, FailureKind
from warroom.formats import age
from warroom.sanitize import text_block
from warroom.sessions.model import Kind
from warroom.tui import backends_filter
from warroom.tui.backends_actions import LIMIT, BackendSource, Identity, SignalActions
from warroom.tui.backends_detail import BackendDetailScreen, pane
from warroom.tui.backends_filter import FILTER_HELP, SORTS
from warroom.tui.backends_text import CopyScreen, ExplainScreen
from warroom.widgets.text import clean, literal

if TYPE_CHECKING:
    from warroom.recording.browse import Moment
    from warroom.tui.backends_recorded import RecordedBackends

MODES = {
    "longest": "longest running",
    "idle_tx": "idle in transaction",
    "blocked": "blocked chains",
}
WIDE = 110  # from this width on, the table also shows the user
WIDER = 150  # and from this one the wait event and who blocks it (the pane always has them)
QUERY_MIN = 20
FOLLOW_S = 0.25  # how often a replay's view looks whether the cursor moved (a comparison)
# What needs a live server: hidden in a replay's read-only view.
LIVE_ACTIONS = frozenset({"tag", "tag_all", "signal", "predicate", "explain"})
_STATE_SHORT = {"idle in transaction": "idle tx", "idle in transaction (aborted)": "idle tx!",
                "fastpath function call": "fastpath"}  # fmt: skip

def _top(counter: Counter[str], n: int = 5) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for name, count in counter.most_common(n):
        text.append(f"{clean(name, 24) or '(none)'} ", style="")
        text.append(f"{count}  ", style="bold")
    return text


def columns(width: int) -> list[tuple[str, int]]:
    """The table's columns for a screen ``width`` (each one's text width; the table draws it
    one cell wider, the gap to the next): narrow fixed ones, the query takes what is left."""
    fixed = [(" ", 1), ("pid", 7), ("application", 11)]
    if width >= WIDE:
        fixed += [("user", 10)]
    fixed += [("state", 8), ("xact", 6), ("query", 6)]
    if width >= WIDER:
        fixed += [("wait", 16), ("blocked", 10)]
    # The gaps, and two cells for the vertical scrollbar.
    used = sum(w + 1 for _label, w in fixed) + 2
    return [*fixed, ("query text", max(QUERY_MIN, width - used - 1))]


def _state_style(b: Backend) -> str:
    if b.blocked_by:
        return "bold red"
    return "yellow" if b.idle_in_transaction else ""


class BackendsScreen(SignalActions, Screen[None]):
    DEFAULT_CSS = """
    BackendsScreen #summary { height: 3; }
    BackendsScreen #summary Static {
        width: 1fr; height: 3; border: round $primary-darken-1; padding: 0 1;
    }
    BackendsScreen #filter { height: 1; border: none; padding: 0 1; display: none; }
    BackendsScreen #filter.open { display: block; }
    BackendsScreen #status { height: 1; background: $panel; padding: 0 1; }
    BackendsScreen DataTable { height: 1fr; }
    BackendsScreen #detail {
        height: 6; border-top: solid $primary-darken-1; padding: 0 1; overflow: hidden;
    }
    """
    BINDINGS = [
        Binding("escape,b", "back", "Back", id="backends.back"),
        Binding("l", "mode('longest')", "Longest", id="backends.longest", show=False,
                tooltip="Longest running first"),
        Binding("i", "mode('idle_tx')", "Idle in tx", id="backends.idle_tx", show=False,
                tooltip="Only the backends idle in transaction"),
        Binding("k", "mode('blocked')", "Blocked", id="backends.blocked", show=False,
                tooltip="Blocked chains: each blocker followed by those it blocks"),
        Binding("slash", "filter", "Filter", id="backends.filter",
                tooltip="Filter: " + FILTER_HELP),
        Binding("s", "sort", "Sort", id="backends.sort",
                tooltip="Sort by an age column: longest, xact, query, time in state"),
        Binding("space", "tag", "Tag", id="backends.tag",
                tooltip="Tag or untag the selected backend (c/x then act on the tagged set)"),
        Binding("a", "tag_all", "Tag all", id="backends.tag_all", show=False,
                tooltip="Tag every backend shown (again: untag them)"),
        Binding("c", "signal(False, False)", "Cancel", id="backends.cancel",
                tooltip="Cancel the query of the tagged backends, or of the selected one"),
        Binding("x", "signal(True, False)", "Terminate", id="backends.terminate",
                tooltip="Terminate the tagged backends, or the selected one"),
        Binding("C", "signal(False, True)", "Cancel app", id="backends.cancel_app", show=False,
                tooltip="Cancel every backend of the selected backend's application"),
        Binding("X", "signal(True, True)", "Terminate app", id="backends.terminate_app",
                show=False,
                tooltip="Terminate every backend of the selected backend's application"),
        Binding("exclamation_mark", "predicate", "Kill by…", id="backends.predicate",
                tooltip="Cancel or terminate every backend matching a state, age, user, "
                        "application or client (shows which, asks first)"),
        Binding("E", "explain", "Explain", id="backends.explain",
                tooltip="EXPLAIN the selected query (never ANALYZE; a generic plan on 16+)"),
        Binding("y", "copy", "Copy", id="backends.copy",
                tooltip="Copy the selected query (OSC 52) and show it to select by hand"),
        Binding("enter", "details", "Details", id="backends.details", show=False,
                tooltip="The selected backend in full: the whole query, locks, blockers"),
    ]

    def __init__(
        self,
        source: BackendSource,
        log: Callable[[str, Kind], bool] | None = None,
        interval: float = 2.0,
        recorded: RecordedBackends | None = None,
    ) -> None:
        """``log``: where what the user did here goes (the App's timeline, naming the server).
        ``recorded``: a replay's frames; the view is then read-only, at the cursor's moment."""
        super().__init__()
        self.recorded = recorded
        self.asked: datetime | None = None  # the moment the shown (or awaited) list is for
        self.recorded_at: datetime | None = None  # when the shown frame was taken
        self.recorded_note = ""  # why no backends are shown for the moment, if none are
        self._reading = False
        self.source = source
        self.log_action = log
        self.interval = interval
        self.mode = "longest"
        self.filter_text = ""
        self.sort = ""
        self.tags: set[Identity] = set()
        self.backends: list[Backend] = []
        self.shown: list[Backend] = []
        self.failure: Failure | None = None
        self._columns_for = -1

    def compose(self) -> ComposeResult:
        with Horizontal(id="summary"):
            for name in ("apps", "users", "clients"):
                pane_ = Static("", id=name)
                pane_.border_title = f"top {name}"
                yield pane_
        yield Input(placeholder=FILTER_HELP, id="filter")
        yield Static("loading…", id="status")
        # No cell padding: each column is one cell wider than its text, the gap; at 80 columns the
        # padding of nine columns would cost the query text half its room.
        yield DataTable(id="backends", cursor_type="row", cell_padding=0)
        yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        if self.recorded is not None:
            self.follow()
            self.set_interval(FOLLOW_S, self.follow)
            return
        self.refresh_list()
        # Only while this screen is shown: no sampling for a view nobody looks at.
        self.set_interval(self.interval, self.refresh_list)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._columns_for:
            self.render_list()

    @work(thread=True, exclusive=True, group="backends", exit_on_error=False)
    def refresh_list(self) -> None:
        result = self.source.list_backends(LIMIT)
        self.app.call_from_thread(self.show_result, result)

    # -- a replay: the frame at the cursor ------------------------------------------------

    def follow(self) -> None:
        """When the cursor has moved, read its frame (one read at a time, off this thread)."""
        assert self.recorded is not None
        at = self.recorded.clock()
        if at != self.asked and not self._reading:
            self.asked = at
            self._reading = True
            self.read_moment(at)

    @work(thread=True, group="backends-recorded", exit_on_error=False)
    def read_moment(self, at: datetime) -> None:
        assert self.recorded is not None
        result: Moment | Failure = Failure(FailureKind.OTHER, "the frame could not be read")
        try:
            result = self.recorded.read(at)
        finally:  # even after a bug in the read: the next move reads again
            self.app.call_from_thread(self.show_moment, result)

    def show_moment(self, result: Moment | Failure) -> None:
        self._reading = False
        if isinstance(result, Failure):
            self.show_result(result)
            return
        frame = result.frame
        self.recorded_at = frame.at if frame is not None else None
        backends = result.backends
        if frame is None:
            self.recorded_note = f"nothing recorded at or before {result.asked:%H:%M:%S}"
        elif result.stale:
            self.recorded_note = (f"nothing recorded near {result.asked:%H:%M:%S} (the last "
                                  f"frame before is from {frame.at:%H:%M:%S})")  # fmt: skip
        elif backends is None:
            self.recorded_note = "the server did not answer then: no backends known"
        else:
            self.recorded_note = ""
        self.show_result(backends or [])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.recorded is not None and action in LIVE_ACTIONS:
            return False  # recorded backends: nothing to signal, tag for it, or explain
        return True

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
        # A tag names one backend (pid and start): one that has ended takes its tag with it.
        self.tags &= {b.identity for b in result}
        self.render_list()

    def visible(self) -> list[Backend]:
        backends = backends_filter.filtered(self.backends, self.filter_text)
        if self.mode == "idle_tx":
            backends = [b for b in backends if b.idle_in_transaction]
        elif self.mode == "blocked":
            return blocked_chains(backends)  # its own order: blockers, then who they block
        return backends_filter.sorted_by(backends, self.sort)

    def header(self, shown: int) -> Text:
        status = Text(no_wrap=True, overflow="ellipsis")
        status.append(f"{MODES[self.mode]}: {shown} of {len(self.backends)}", "bold")
        if self.filter_text.strip():
            status.append("  filter ")
            status.append(clean(self.filter_text, 40), style="bold cyan")
        status.append(f"  sort {SORTS[self.sort] if self.mode != 'blocked' else 'chains'}")
        if self.tags:
            status.append(f"  {len(self.tags)} tagged", style="bold magenta")
        if self.recorded is None:
            status.append("   / filter  s sort  space tag  c/x act  ! by predicate  ? keys",
                          style="dim")  # fmt: skip
            return status
        if self.recorded_at is not None:
            status.append(f"  recorded at {self.recorded_at:%H:%M:%S}", style="bold")
        if self.recorded_note:
            status.append(f"  {self.recorded_note}", style="yellow")
        status.append("   / filter  s sort  space play  ←/→ seek", style="dim")
        return status

    def render_list(self) -> None:
        backends = self.backends
        self.query_one("#apps", Static).update(_top(Counter(b.application for b in backends)))
        self.query_one("#users", Static).update(_top(Counter(b.user for b in backends)))
        self.query_one("#clients", Static).update(_top(Counter(b.client for b in backends)))
        shown = self.visible()
        self.query_one("#status", Static).update(self.header(len(shown)))
        table = self.query_one(DataTable)
        selected = self.selected()
        width = self.size.width
        cols = columns(width)
        if width != self._columns_for:
            table.clear(columns=True)
            for label, w in cols:
                table.add_column(label, width=w + 1)
            self._columns_for = width
        else:
            table.clear()
        self.shown = shown
        labels = [label for label, _w in cols]
        query_width = cols[-1][1]
        for b in shown:
            tagged = b.identity in self.tags
            cells: list[Text] = [
                Text("●" if tagged else " ", style="bold magenta"),
                Text(str(b.pid), style="bold magenta" if tagged else ""),
                literal(b.application, limit=11),
            ]
            if "user" in labels:
                cells.append(literal(b.user, limit=10))
            cells += [
                Text(_STATE_SHORT.get(b.state, clean(b.state, 8)), style=_state_style(b)),
                Text(age(b.xact_s)),
                Text(age(b.query_s)),
            ]
            if "wait" in labels:
                cells += [
                    # ClientRead on an idle backend is the normal state, not news.
                    literal(f"{b.wait_type}:{b.wait_event}"
                            if b.wait_type and b.wait_type != "Client" else "", limit=16),
                    Text(",".join(map(str, b.blocked_by)), style="bold red" if b.blocked_by
                         else "", no_wrap=True, overflow="ellipsis"),
                ]  # fmt: skip
            cells.append(literal(b.query, limit=query_width))
            table.add_row(*cells, key=str(b.pid))
        if selected is not None:
            ids = [b.identity for b in shown]
            if selected.identity in ids:
                table.move_cursor(row=ids.index(selected.identity))
        self.show_detail()

    def show_detail(self) -> None:
        self.query_one("#detail", Static).update(pane(self.selected(), self.backends))

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def selected(self) -> Backend | None:
        table = self.query_one(DataTable)
        if not self.shown or not (0 <= table.cursor_row < len(self.shown)):
            return None
        return self.shown[table.cursor_row]

    def tagged(self) -> list[Backend]:
        return [b for b in self.backends if b.identity in self.tags]

    # -- moving about --------------------------------------------------------------------

    def action_back(self) -> None:
        filter_box = self.query_one("#filter", Input)
        if self.focused is filter_box:
            self.close_filter()
            return
        self.app.pop_screen()

    def action_mode(self, mode: str) -> None:
        self.mode = mode
        self.render_list()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("open")
        box.focus()

    def close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.value.strip():
            box.remove_class("open")
        self.query_one(DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter_text = event.value
            self.render_list()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.close_filter()

    def action_sort(self) -> None:
        self.sort = backends_filter.next_sort(self.sort)
        self.render_list()

    def action_tag(self) -> None:
        b = self.selected()
        if b is None:
            return
        self.tags ^= {b.identity}
        table = self.query_one(DataTable)
        row = table.cursor_row
        self.render_list()
        table.move_cursor(row=min(row + 1, len(self.shown) - 1))

    def action_tag_all(self) -> None:
        ids = {b.identity for b in self.shown}
        self.tags = self.tags - ids if ids <= self.tags else self.tags | ids
        self.render_list()

    def action_details(self) -> None:
        b = self.selected()
        if b is not None:
            # A frame keeps who blocks whom, not pg_locks: no lock reads in a replay.
            locks = self.source if self.recorded is None else None
            self.app.push_screen(BackendDetailScreen(b, list(self.backends), locks))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    # -- explain and copy ----------------------------------------------------------------

    def action_explain(self) -> None:
        b = self.selected()
        if b is None:
            self.notify("no backend selected")
            return
        screen = ExplainScreen(b.pid, b.query)
        self.app.push_screen(screen)
        self.run_explain(screen, b)

    @work(thread=True, group="backend-explain", exit_on_error=False)
    def run_explain(self, screen: ExplainScreen, b: Backend) -> None:
        result = self.source.explain(b.query, truncated=b.query_truncated)
        self.app.call_from_thread(screen.show, result)

    def action_copy(self) -> None:
        b = self.selected()
        if b is None:
            self.notify("no backend selected")
            return
        # OSC 52: the terminal (over SSH and tmux too) puts it on the clipboard if it allows.
        self.app.copy_to_clipboard(text_block(b.query))
        self.app.push_screen(CopyScreen(b.pid, b.query))


def backends_screen_factory(
    source: BackendSource,
) -> Callable[[Callable[[str, Kind], bool]], BackendsScreen]:
    return lambda log: BackendsScreen(source, log)
