"""`!` in the backends view: say which backends to cancel or terminate by what they are (state,
how long idle in transaction or running, user, application, client), see how many match now
and which, then go on to the question. The form returns the predicate; the view asks and acts.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from warroom.collectors.backends import Backend
from warroom.formats import age
from warroom.sanitize import one_line
from warroom.tui.backends_filter import STATES, Predicate, matching
from warroom.tui.screens.form import FormScreen

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", re.I)
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
SHOWN = 5  # matching backends named in the form's preview (the question names them all)


def parse_seconds(raw: str) -> float | None:
    """``60``, ``60s``, ``2m``, ``1h``; '' is None. Raises ValueError for anything else."""
    if not raw.strip():
        return None
    m = _DURATION.fullmatch(raw)
    if not m:
        raise ValueError(raw)
    return float(m.group(1)) * _UNIT[(m.group(2) or "").lower()]


def listing(backends: list[Backend], limit: int | None = None) -> Text:
    """``pid app user state age`` per backend, literal text."""
    text = Text()
    for b in backends[:limit]:
        text.append(f"{b.pid:>7}  {one_line(b.application, 20) or '(none)':<20} "
                    f"{one_line(b.user, 12):<12} {one_line(b.state, 20):<20} "
                    f"{age(b.state_s, '-')}\n")  # fmt: skip
    if limit is not None and len(backends) > limit:
        text.append(f"… and {len(backends) - limit} more\n", style="dim")
    return text


class PredicateScreen(FormScreen[tuple[Predicate, bool]]):
    """Returns (predicate, terminate) or None."""

    DEFAULT_CSS = """
    PredicateScreen Horizontal.row { height: auto; margin-bottom: 1; }
    PredicateScreen Horizontal.row > Vertical > * { margin-right: 2; }
    PredicateScreen Horizontal.row > Vertical { width: 1fr; height: auto; }
    PredicateScreen #matches { height: auto; max-height: 7; color: $text; }
    """

    def __init__(self, backends: list[Backend]) -> None:
        super().__init__()
        self.backends = backends

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Cancel or terminate every backend that matches all of these")
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("Action")
                    yield Select([("terminate", "terminate"), ("cancel the query", "cancel")],
                                 value="terminate", allow_blank=False, id="verb",
                                 compact=True)  # fmt: skip
                with Vertical():
                    yield Label("State")
                    yield Select([(s, s) for s in STATES], prompt="any state", id="state",
                                 compact=True)  # fmt: skip
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("Idle in transaction at least")
                    yield Input(placeholder="e.g. 60, 90s, 2m", id="idle_tx", compact=True)
                with Vertical():
                    yield Label("Query age at least")
                    yield Input(placeholder="e.g. 5m", id="query_age", compact=True)
            with Horizontal(classes="row"):
                for name, label in (("user", "User"), ("application", "Application"),
                                    ("client", "Client address")):  # fmt: skip
                    with Vertical():
                        yield Label(f"{label} (exactly)")
                        yield Input(placeholder=f"any {label.split()[0].lower()}", id=name,
                                    compact=True)
            yield Static("", id="matches")
            yield Static("", id="error")
            with Horizontal():
                yield Button("Review (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#idle_tx", Input).focus()
        self.preview()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.preview()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self.preview()

    def predicate(self) -> Predicate:
        """The form as a predicate; ValueError names a duration it cannot read."""
        state = self.query_one("#state", Select).value
        values = {name: self.query_one(f"#{name}", Input).value.strip()
                  for name in ("user", "application", "client")}  # fmt: skip
        durations: dict[str, float | None] = {}
        for name in ("idle_tx", "query_age"):
            raw = self.query_one(f"#{name}", Input).value
            try:
                durations[name] = parse_seconds(raw)
            except ValueError:
                raise ValueError(f"{one_line(raw, 20)!r} is not a duration "
                                 "(60, 90s, 2m, 1h)") from None  # fmt: skip
        return Predicate(
            state=state if isinstance(state, str) else "",
            min_idle_tx_s=durations["idle_tx"],
            min_query_s=durations["query_age"],
            **values,
        )

    def preview(self) -> None:
        out = self.query_one("#matches", Static)
        try:
            predicate = self.predicate()
        except ValueError as exc:
            out.update(Text(str(exc), style="red"))
            return
        found = matching(self.backends, predicate)
        text = Text(f"{len(found)} of {len(self.backends)} backends match "
                    f"{predicate.describe()} now\n", style="bold")  # fmt: skip
        text.append_text(listing(found, SHOWN))
        out.update(text)

    def action_save(self) -> None:
        try:
            predicate = self.predicate()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        if predicate.empty:
            self.show_error("name at least one condition: this would take every backend")
            return
        self.dismiss((predicate, self.query_one("#verb", Select).value == "terminate"))
