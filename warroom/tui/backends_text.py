"""The backends view's two text screens: a query's plan (`E`) and a query to copy (`y`).

Both show database text as data: lines kept, escapes and controls removed (text_block), in a
Text, never markup. The copy screen holds the query in a read-only TextArea, where it can be
selected by hand when the terminal ignores OSC 52 (the clipboard escape Textual sends).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from warroom.collectors.backends_explain import Plan, Unexplainable
from warroom.collectors.sample import Failure
from warroom.sanitize import one_line, text_block

OSC52_NOTE = (
    "Copied through OSC 52, the terminal's clipboard escape: it works over SSH and in tmux "
    "(set-clipboard on) where the terminal allows it; some terminals ignore it or ask first. "
    "If nothing was copied, select the text below by hand."
)

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 100%; max-width: 140; height: 95%; border: thick $primary;
    background: $surface; padding: 0 1;
}}
{name} .note {{ color: $text-muted; height: auto; margin-bottom: 1; }}
"""


class ExplainScreen(ModalScreen[None]):
    DEFAULT_CSS = _CSS.format(name="ExplainScreen")
    BINDINGS = [Binding("escape,q,E", "dismiss", "Close", id="explain.close")]

    def __init__(self, pid: int, query: str) -> None:
        super().__init__()
        self.pid = pid
        self.query_text = query
        self.answer: Text = Text("explaining…", style="dim")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(one_line(self.query_text, 400)), classes="note", id="statement")
            with VerticalScroll():
                yield Static(self.answer, id="plan")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = f"EXPLAIN of backend {self.pid}'s query"

    def show(self, result: Plan | Unexplainable | Failure) -> None:
        self.answer = plan_text(result)
        self.query_one("#plan", Static).update(self.answer)


def plan_text(result: Plan | Unexplainable | Failure) -> Text:
    if isinstance(result, Unexplainable):
        return Text(f"cannot explain: {result.reason}", style="yellow")
    if isinstance(result, Failure):
        return Text(f"EXPLAIN failed: {result.kind.value}: {one_line(result.message, 300)}",
                    style="red")  # fmt: skip
    text = Text()
    if result.generic:
        text.append("generic plan (parameters unbound)\n\n", style="dim")
    text.append(text_block("\n".join(result.lines)))
    return text


class CopyScreen(ModalScreen[None]):
    DEFAULT_CSS = _CSS.format(name="CopyScreen") + "CopyScreen TextArea { height: 1fr; }"
    BINDINGS = [Binding("escape", "dismiss", "Close", id="copy.close")]

    def __init__(self, pid: int, query: str) -> None:
        super().__init__()
        self.pid = pid
        self.query_text = text_block(query)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(OSC52_NOTE), classes="note")
            yield TextArea(self.query_text, read_only=True, soft_wrap=True, id="copy")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = f"backend {self.pid}'s query (Esc closes)"
        self.query_one(TextArea).focus()
