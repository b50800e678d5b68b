"""The findings line: ranked findings, the oldest transaction and longest query, text as data."""

from __future__ import annotations

from warroom.widgets.findings import FindingsView, render_findings


def test_the_line_shows_findings_in_order_then_the_ages() -> None:
    view = FindingsView(
        items=(("critical", "shop-api holds 46 of 47 usable slots"),
               ("info", "round trip on the held connection 0.6 ms ...")),
        oldest_xact_s=245.0, longest_query_s=12.4,
    )  # fmt: skip
    text = render_findings(view).plain
    assert text.index("shop-api holds") < text.index("round trip")
    assert text.endswith("oldest xact 4m05s · longest query 12s")


def test_no_finding_says_none_and_database_text_cannot_inject_markup_or_controls() -> None:
    assert render_findings(FindingsView(items=())).plain == "findings none"
    evil = "pid 1 ([bold]x[/bold]\x1b[31m\u202e) blocks 3 sessions"
    text = render_findings(FindingsView(items=(("critical", evil),))).plain
    assert "[bold]x[/bold]" in text  # shown literally, never parsed as markup
    assert "\x1b" not in text and "\u202e" not in text
    line = render_findings(FindingsView(items=(), source_note="counts from process titles"))
    assert "[counts from process titles]" in line.plain
