"""The findings line: what warroom's rules conclude right now, most severe first, one line.

Fed a plain view; no I/O. Texts are data from the database (application names, statements), so
they go through the shared sanitiser and are never parsed as markup.
"""

from __future__ import annotations

from rich.text import Text

from warroom.formats import age
from warroom.widgets.pane import Painted
from warroom.widgets.text import clean
from warroom.widgets.views import FindingsView

SEVERITY_STYLE = {"critical": "bold red", "warning": "bold yellow", "info": "cyan"}


class FindingsLine(Painted[FindingsView]):
    DEFAULT_CSS = """
    FindingsLine {
        height: auto;
        max-height: 2;
        padding: 0 1;
    }
    """

    def render_view(self, view: FindingsView, width: int, height: int) -> list[Text]:
        return [render_findings(view)]


def render_findings(view: FindingsView) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("findings ", style="dim")
    if view.source_note:
        text.append(f"[{clean(view.source_note)}] ", style="bold magenta")
    ages = []
    if view.oldest_xact_s is not None and view.oldest_xact_s >= 1:
        ages.append(f"oldest xact {age(view.oldest_xact_s)}")
    if view.longest_query_s is not None and view.longest_query_s >= 1:
        ages.append(f"longest query {age(view.longest_query_s)}")
    if not view.items:
        text.append("none", style="dim")
    for i, (severity, line) in enumerate(view.items):
        if i:
            text.append("  |  ", style="dim")
        text.append(clean(line), style=SEVERITY_STYLE.get(severity, ""))
    if ages:
        text.append("  · " + " · ".join(ages), style="dim")
    return text
