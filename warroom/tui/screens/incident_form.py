"""One form for the record's header: title, key timestamps, the story fields, the contributing
factors (one per line) and the roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Label, TextArea

from warroom.sanitize import one_line
from warroom.sessions.model import FACTORS, KEY_TIMES, Incident, factor_list
from warroom.sessions.times import TimeError, parse_time
from warroom.tui.screens.form import FormScreen

TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("title", "Title"),
    ("summary", "Summary"),
    ("impact", "Impact (who/what was affected, how much)"),
    ("trigger", "Trigger"),
    ("root_cause", "Root cause"),
    ("resolution", "Resolution"),
)
ROLE_FIELDS: tuple[tuple[str, str], ...] = (
    ("commander", "Incident commander"),
    ("scribe", "Scribe"),
    ("comms", "Communications"),
)
TIME_LABELS = {
    "started_at": "Impact started (UTC)",
    "detected_at": "Detected",
    "identified_at": "Cause identified",
    "mitigated_at": "Mitigated",
    "resolved_at": "Resolved",
}

Changes = dict[str, object]


def _fmt(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _factors_text(factors: tuple[str, ...]) -> str:
    """One factor a line, as the form shows them: recorded text is data, never raw control
    characters on the terminal, and a factor's own newlines would split it in two."""
    return "\n".join(one_line(factor) for factor in factors)


class IncidentFormScreen(FormScreen[Changes]):
    DEFAULT_CSS = """
    IncidentFormScreen > Vertical { width: 100; height: 90%; }
    IncidentFormScreen Label { margin-top: 1; color: $text-muted; }
    IncidentFormScreen Button { margin: 0 1 0 0; }
    IncidentFormScreen TextArea { height: 6; }
    """

    def __init__(self, incident: Incident, check: Callable[[Changes], str | None]) -> None:
        super().__init__()
        self.incident = incident
        self.check = check

    def compose(self) -> ComposeResult:
        inc = self.incident
        with Vertical():
            with VerticalScroll():
                for name, label in TEXT_FIELDS[:1]:
                    yield Label(label)
                    yield Input(str(getattr(inc, name)), id=name)
                for name in KEY_TIMES:
                    yield Label(f"{TIME_LABELS[name]}: ISO 8601 with zone or HH:MM; empty clears")
                    yield Input(_fmt(getattr(inc, name)), id=name)
                for name, label in TEXT_FIELDS[1:]:
                    yield Label(label)
                    yield Input(str(getattr(inc, name)), id=name)
                    if name == "root_cause":
                        yield Label("Contributing factors: what let the cause do harm or made "
                                    "it worse, one per line")
                        yield TextArea(_factors_text(inc.contributing_factors), id=FACTORS,
                                       soft_wrap=True, show_line_numbers=False)
                for name, label in ROLE_FIELDS:
                    yield Label(label)
                    yield Input(str(getattr(inc.roles, name)), id=name)
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def collect(self) -> Changes:
        """Only the fields the user changed, times parsed; raises TimeError for a bad time."""
        inc = self.incident
        changes: Changes = {}
        for name, _ in (*TEXT_FIELDS, *ROLE_FIELDS):
            value = self.query_one(f"#{name}", Input).value.strip()
            old = getattr(inc.roles if name in dict(ROLE_FIELDS) else inc, name)
            if value != old:
                changes[name] = value
        typed = factor_list(self.query_one(f"#{FACTORS}", TextArea).text.split("\n"))
        if typed != factor_list(_factors_text(inc.contributing_factors).split("\n")):
            changes[FACTORS] = list(typed)
        for name in KEY_TIMES:
            raw = self.query_one(f"#{name}", Input).value.strip()
            if raw == _fmt(getattr(inc, name)):
                continue
            try:
                changes[name] = parse_time(raw, now=inc.started_at) if raw else None
            except TimeError as exc:
                raise TimeError(f"{TIME_LABELS[name]}: {exc}") from None
        return changes

    def action_save(self) -> None:
        try:
            changes = self.collect()
        except TimeError as exc:
            self.show_error(str(exc))
            return
        problem = self.check(changes) if changes else None
        if problem:
            self.show_error(problem)
            return
        self.dismiss(changes)
