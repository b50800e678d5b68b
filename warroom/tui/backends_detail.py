"""One backend in full: the pane under the backends table and the screen Enter opens.

The pane says who, where from, since when and what it waits for, with the start of the query;
the screen adds the whole query (as lines, sanitised) and the locks, read from pg_locks on the
monitoring connection by a thread worker when the screen opens (the lock detail the sample
reads for a chain's roots, asked here for this backend and the ones around it).
"""

from __future__ import annotations

from typing import Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from warroom.collectors.backends import Backend
from warroom.collectors.findings.lock_root import describe
from warroom.collectors.sample import BlockedBackend, Failure, LockRoot
from warroom.formats import age, format_utc
from warroom.sanitize import one_line, text_block


class LockSource(Protocol):
    def lock_detail(
        self, roots: tuple[LockRoot, ...], waiting: tuple[BlockedBackend, ...]
    ) -> tuple[LockRoot, ...] | Failure: ...


def blocks(backend: Backend, others: list[Backend]) -> list[int]:
    """The pids waiting on ``backend`` (directly), from the list's blocked-by."""
    return sorted(b.pid for b in others if backend.pid in b.blocked_by)


def client_text(b: Backend) -> str:
    port = f":{b.client_port}" if b.client_port is not None else ""
    return one_line(b.client, 64) + port


def facts(b: Backend, others: list[Backend]) -> Text:
    """The backend's facts, a few short lines (database text literal, never markup)."""
    text = Text(no_wrap=False)
    text.append(f"pid {b.pid}", style="bold")
    text.append(f"  {one_line(b.state, 40) or '-'}",
                style="yellow" if b.idle_in_transaction else "")  # fmt: skip
    text.append(f"  db {one_line(b.database, 40) or '-'}  user {one_line(b.user, 40) or '-'}")
    text.append(f"  app {one_line(b.application, 40) or '(none)'}  client {client_text(b)}\n")
    started = format_utc(b.backend_start) if b.backend_start else "?"
    text.append(f"started {started}  xact {age(b.xact_s, '-')}  query {age(b.query_s, '-')}"
                f"  in state {age(b.state_s, '-')}")  # fmt: skip
    if b.wait_type:
        text.append(f"  wait {one_line(b.wait_type, 30)}:{one_line(b.wait_event, 40)}")
    text.append("\n")
    waiting_on_it = blocks(b, others)
    if b.blocked_by:
        text.append(f"blocked by {', '.join(map(str, b.blocked_by))}  ", style="bold red")
    if waiting_on_it:
        text.append(f"blocks {', '.join(map(str, waiting_on_it))}", style="bold red")
    if b.blocked_by or waiting_on_it:
        text.append("\n")
    return text


def pane(b: Backend | None, others: list[Backend]) -> Text:
    """The pane under the table: the facts, then as much of the query as fits."""
    if b is None:
        return Text("no backend selected", style="dim")
    text = facts(b, others)
    text.append(one_line(b.query) or "(no query text)", style="cyan")
    return text


class BackendDetailScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    BackendDetailScreen { align: center middle; }
    BackendDetailScreen > VerticalScroll {
        width: 100%; max-width: 140; height: 95%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    BackendDetailScreen #query { margin: 1 0; color: $text; }
    """
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="backend_detail.close")]

    def __init__(self, backend: Backend, others: list[Backend], source: LockSource | None) -> None:
        super().__init__()
        self.backend = backend
        self.others = others
        self.source = source
        self.locks_text: Text = Text("locks: reading pg_locks…", style="dim")

    def compose(self) -> ComposeResult:
        b = self.backend
        with VerticalScroll():
            shown = facts(b, self.others)
            shown.rstrip()
            yield Static(shown, id="facts")
            query = text_block(b.query) or "(no query text)"
            if b.query_truncated:
                query += "\n… (cut short: the server keeps track_activity_query_size bytes)"
            yield Static(Text(query), id="query")
            yield Static(self.locks_text, id="locks")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = f"backend {self.backend.pid}"
        if self.source is not None:
            self.read_locks()
        else:
            self.show_locks(Text("locks: not available here", style="dim"))

    @work(thread=True, exclusive=True, group="backend-locks", exit_on_error=False)
    def read_locks(self) -> None:
        assert self.source is not None
        b = self.backend
        waiting_on_it = blocks(b, self.others)
        roots = tuple(_root(pid) for pid in (b.pid, *b.blocked_by))
        waiting = tuple(_waiting(pid) for pid in (b.pid, *waiting_on_it))
        result = self.source.lock_detail(roots, waiting)
        self.app.call_from_thread(self.show_locks, lock_text(b, result))

    def show_locks(self, text: Text) -> None:
        self.locks_text = text
        self.query_one("#locks", Static).update(text)


def _root(pid: int) -> LockRoot:
    return LockRoot(pid, "", "", "", None, None, 0, "")


def _waiting(pid: int) -> BlockedBackend:
    return BlockedBackend(pid, (), "", 0.0, "")


def lock_text(b: Backend, result: tuple[LockRoot, ...] | Failure) -> Text:
    """The locks it holds that others queue for, and those it waits for and who holds them."""
    if isinstance(result, Failure):
        return Text(f"locks: cannot read pg_locks: {result.kind.value}: "
                    f"{one_line(result.message, 120)}", style="red")  # fmt: skip
    text = Text()
    held = [lock for r in result if r.pid == b.pid for lock in r.holds]
    awaited = [(r.pid, lock) for r in result if r.pid != b.pid for lock in r.holds]
    text.append("locks held that others wait for: ", style="bold")
    text.append(", ".join(describe(lock) for lock in held) or "none", style="")
    text.append("\nlocks it waits for: ", style="bold")
    text.append(", ".join(f"{describe(lock)} held by {pid}" for pid, lock in awaited)
                or ("none" if not b.blocked_by else "(released since the list)"))  # fmt: skip
    return text
