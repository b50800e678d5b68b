"""The postmortem draft, read the way a responder (and a Markdown renderer) reads it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    Roles,
    SampleRollup,
    Source,
    Target,
    TimelineEntry,
)
from warroom.sessions.postmortem import SECTIONS, render
from warroom.sessions.times import TimeError

H2 = [
    "Issue Summary",
    "Impact",
    "Detection",
    "Timeline",
    "What We Ruled Out",
    "Root Cause and Resolution",
    "Corrective and Preventative Measures",
    "Lessons Learned",
    "Metrics",
]
H3 = [
    "Root cause",
    "Contributing factors",
    "Trigger",
    "Resolution",
    "What went well",
    "What went wrong",
    "Where we got lucky",
]
HOSTILE = [
    "# x",
    "- [ ] y",
    "```",
    "<script>alert(1)</script>",
    "\x1b[31mred\x1b[0m",
    "1. numbered",
    "> quoted",
    "    indented code",
    "===",
    "---",
    "***",
    "~~~",
    "[ref]: https://evil.example",
    "* star",
    "+ plus",
    "`code` and *em* and __strong__ and [link](https://x.example)",
    "&#27;[31m entity",
    "<!-- comment",
    "ends with backslash\\",
    "bell\x07 nul\x00 del\x7f csi\x9b",
]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def t(hour: int, minute: int = 0, day: int = 15) -> datetime:
    return datetime(2022, 10, day, hour, minute, tzinfo=UTC)


def parse(md: str) -> list[Token]:
    return MarkdownIt("commonmark").parse(md)


_SHOWN = {"softbreak": "\n", "hardbreak": "\n", "strong_open": "**", "strong_close": "**",
          "em_open": "*", "em_close": "*"}


def shown(inline: Token) -> str:
    """An inline token as a reader sees it: escapes resolved, our bold kept as ``**``."""
    return "".join(
        child.content if child.type in ("text", "code_inline") else _SHOWN.get(child.type, "")
        for child in inline.children or []
    )


def headings(tokens: list[Token], tag: str) -> list[str]:
    return [
        shown(tokens[i + 1])
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open" and tok.tag == tag
    ]


def section(md: str, name: str) -> str:
    """The raw Markdown of one h2 section."""
    start = md.index(f"\n## {name}\n")
    end = md.find("\n## ", start + 1)
    return md[start : end if end != -1 else len(md)]


def section_tokens(tokens: list[Token], name: str) -> list[Token]:
    out: list[Token] = []
    inside = False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h2":
            inside = tokens[i + 1].content == name
            continue
        if inside:
            out.append(tok)
    return out


def top_items(tokens: list[Token]) -> list[str]:
    """Text of each top-level list item in ``tokens`` (nested items folded into their parent)."""
    items: list[str] = []
    depth = 0
    for tok in tokens:
        if tok.type == "list_item_open":
            depth += 1
            if depth == 1:
                items.append("")
        elif tok.type == "list_item_close":
            depth -= 1
        elif tok.type == "inline" and depth >= 1:
            items[-1] += ("\n" if items[-1] else "") + shown(tok)
    return items


def plain(tokens: list[Token]) -> str:
    """What a reader sees in ``tokens``."""
    return "\n".join(shown(tok) for tok in tokens if tok.type == "inline")


def example() -> Incident:
    """The reference postmortem's incident, entered out of order as a scribe would."""
    inc = Incident.create("Web Stack Outage: The Great Database Tango", t(9))
    notes = [
        (t(10, 30), Kind.DECISION, "Misconfigured connection pool confirmed as the root cause"),
        (t(9, 0), Kind.DETECTION, "Monitoring alerts: prolonged server response times"),
        (t(9, 20), Kind.MISLEADING, "Suspected network latency; examined network config"),
        (t(9, 5), Kind.ESCALATION, "Engineers summoned"),
        (t(10, 0), Kind.ESCALATION, "Escalated to the senior engineering team"),
        (t(9, 30), Kind.MISLEADING, "Suspected a bug in the application code"),
        (t(11, 30), Kind.RESOLUTION, "Reconfigured the pool and restarted the database"),
    ]
    for at, kind, text in notes:
        inc.add_entry(TimelineEntry(at=at, text=text, kind=kind, author="alice"))
    inc.status_change("resolved", t(11, 30), author="alice")
    return inc


# -- structure -----------------------------------------------------------------------------------


def test_sections_are_the_expected_h2_headings_in_order() -> None:
    tokens = parse(render(example()))
    assert headings(tokens, "h1") == ["Postmortem: Web Stack Outage: The Great Database Tango"]
    assert headings(tokens, "h2") == H2
    assert list(SECTIONS) == H2
    assert headings(tokens, "h3") == H3


def test_a_bare_incident_has_todo_prompts_and_no_empty_heading() -> None:
    inc = Incident.create("Replica lag", t(3))
    md = render(inc)
    tokens = parse(md)
    assert headings(tokens, "h2") == H2
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            # heading_open, inline, heading_close, then content or a deeper subheading
            after = tokens[i + 3] if i + 3 < len(tokens) else None
            assert after is not None, f"empty heading {tokens[i + 1].content!r} at the end"
            empty = after.type == "heading_open" and after.tag <= tok.tag
            assert not empty, f"empty heading {tokens[i + 1].content!r}"
    for field in ("summary", "impact", "root_cause", "trigger", "resolution"):
        assert f"(`warroom` field {field})" in md
    for name in H2:
        assert "TODO:" in section(md, name), name
    assert "TODO: no samples were recorded" in section(md, "Metrics")
    assert "TODO: list what will stop this happening again" in md
    assert "TODO: no timeline entries were recorded" in section(md, "Timeline")


def test_recorded_fields_replace_their_todo() -> None:
    inc = example()
    inc.summary = "The database fell over under a connection storm."
    inc.impact = "About 80% of users saw errors.\n\nCheckout was down entirely."
    inc.root_cause = "A misconfigured connection pool opened far too many connections."
    inc.trigger = "A marketing email sent at 09:00."
    inc.resolution = "Pool size capped at 50 per host; database restarted."
    md = render(inc)
    for field in ("summary", "impact", "root_cause", "trigger", "resolution"):
        assert f"field {field})" not in md
    summary = section(md, "Issue Summary")
    assert "The database fell over under a connection storm." in summary
    assert "- **Impact:** About 80% of users saw errors." in summary
    assert "Checkout was down" not in summary  # the summary takes the first paragraph only
    impact = plain(section_tokens(parse(md), "Impact"))
    assert "About 80% of users saw errors." in impact and "Checkout was down entirely." in impact
    assert "far too many connections" in section(md, "Root Cause and Resolution")


# -- times ---------------------------------------------------------------------------------------


def test_duration_and_times_are_utc() -> None:
    md = render(example())
    summary = section(md, "Issue Summary")
    assert "- **Start:** 2022-10-15 09:00 UTC" in summary
    assert "- **End:** 2022-10-15 11:30 UTC (resolved)" in summary
    assert "- **Duration:** 2h 30m" in summary
    assert "all times are UTC" in summary


def test_detection_measures_from_impact_start() -> None:
    inc = Incident.create("Lock pile-up", t(9))
    inc.status_change("investigating", t(9, 5))
    inc.status_change("monitoring", t(10, 45))
    inc.status_change("identified", t(10, 50))
    inc.status_change("resolved", t(11, 30))
    detection = section(render(inc), "Detection")
    assert "- **Time to detect:** 5m (detected 2022-10-15 09:05 UTC)" in detection
    assert "- **Time to identify:** 1h 50m" in detection
    assert "- **Time to mitigate:** 1h 45m (mitigated 2022-10-15 10:45 UTC)" in detection
    assert "- **Time to resolve:** 2h 30m (resolved 2022-10-15 11:30 UTC)" in detection
    assert "TODO: say how the incident was noticed" in detection


def test_detection_quotes_the_first_detection_entry() -> None:
    detection = section(render(example()), "Detection")
    assert "How it was noticed (2022-10-15 09:00 UTC, detection): Monitoring alerts" in detection


def test_an_ongoing_incident_gets_no_invented_end() -> None:
    inc = Incident.create("Still burning", t(9))
    inc.add_entry(TimelineEntry(at=t(9, 10), text="paged", kind=Kind.DETECTION))
    md = render(inc)
    summary = section(md, "Issue Summary")
    assert "not yet resolved" in summary and "ongoing" in summary
    assert "- **Duration:** ongoing" in summary
    assert "TODO:" in summary.split("- **End:**")[1].split("\n")[0]
    detection = section(md, "Detection")
    assert "- **Time to detect:** 10m" in detection
    assert "- **Time to resolve:** not yet resolved" in detection
    assert "11:" not in md and "12:" not in md  # no end time appears from nowhere


def test_a_mitigated_incident_ends_at_mitigation_but_is_not_resolved() -> None:
    inc = Incident.create("Failover", t(9))
    inc.status_change("monitoring", t(9, 40))
    summary = section(render(inc), "Issue Summary")
    assert "- **End:** 2022-10-15 09:40 UTC (mitigated; not yet resolved)" in summary
    assert "- **Duration:** 40m to mitigation" in summary


def test_local_times_are_added_for_a_named_zone() -> None:
    summary = section(render(example(), tz_name="Europe/Paris"), "Issue Summary")
    start = "- **Start:** 2022-10-15 09:00 UTC (impact start; 2022-10-15 11:00 CEST local)"
    assert start in summary
    assert "local times in brackets are Europe/Paris" in summary
    with pytest.raises(TimeError, match="Mars/Olympus"):
        render(example(), tz_name="Mars/Olympus")


# -- timeline ------------------------------------------------------------------------------------


def test_timeline_is_in_time_order_with_kind_author_and_misleading_marked() -> None:
    tokens = parse(render(example()))
    items = top_items(section_tokens(tokens, "Timeline"))
    assert [item.split(" · ")[0] for item in items] == [
        "**2022-10-15 09:00**", "**09:05**", "**09:20**", "**09:30**",
        "**10:00**", "**10:30**", "**11:30**", "**11:30**",
    ]
    assert items[0] == (
        "**2022-10-15 09:00** · detection · alice — "
        "Monitoring alerts: prolonged server response times"
    )
    misleading = [item for item in items if "**misleading path**" in item]
    assert [m.split(" — ")[1] for m in misleading] == [
        "Suspected network latency; examined network config",
        "Suspected a bug in the application code",
    ]
    # Both misleading entries are marked and nothing else is.
    assert render(example()).count("**misleading path**") == 2
    assert items[-1].startswith("**11:30** · status · alice — status: investigating -> resolved")


def test_timeline_shows_the_date_again_when_the_day_changes() -> None:
    inc = Incident.create("Overnight", t(23, 0, day=15))
    inc.add_entry(TimelineEntry(at=t(0, 30, day=16), text="after midnight"))
    inc.add_entry(TimelineEntry(at=t(23, 10, day=15), text="before midnight"))
    inc.add_entry(TimelineEntry(at=t(1, 0, day=16), text="later", source=Source.AUTO))
    items = top_items(section_tokens(parse(render(inc)), "Timeline"))
    assert items == [
        "**2022-10-15 23:10** · note — before midnight",
        "**2022-10-16 00:30** · note — after midnight",
        "**01:00** · note · warroom — later",
    ]


def test_a_multi_line_note_stays_inside_its_list_item() -> None:
    inc = example()
    inc.add_entry(TimelineEntry(at=t(9, 45), text="pg_stat_activity says:\n\n# 187 idle\n- app"))
    tokens = parse(render(inc))
    items = top_items(section_tokens(tokens, "Timeline"))
    assert len(items) == len(inc.timeline)
    assert items[4] == "**09:45** · note — pg_stat_activity says:\n# 187 idle\n- app"


# -- measures ------------------------------------------------------------------------------------


def test_action_items_are_a_checklist_with_owner_kind_and_due() -> None:
    inc = example()
    inc.action_items = [
        ActionItem("Cap the pool at 50 per host", owner="bob", kind="prevent",
                   due=date(2022, 11, 1)),
        ActionItem("Alert on connection saturation", owner="carol", kind="detect", status="done"),
        ActionItem("Write a runbook for connection storms", kind="process"),
        ActionItem("Rewrite the ORM", kind="prevent", status="wont_do"),
    ]
    measures = section(render(inc), "Corrective and Preventative Measures")
    lines = [line for line in measures.splitlines() if line.startswith("- ")]
    assert lines == [
        "- [ ] Cap the pool at 50 per host — open · prevent · owner: bob · due 2022-11-01",
        "- [x] Alert on connection saturation — done · detect · owner: carol",
        "- [ ] Write a runbook for connection storms — open · process · TODO: assign an owner · "
        "TODO: set a due date",
        # dropped: kept on record, and nobody is asked to own it
        "- [ ] Rewrite the ORM — won't do · prevent",
    ]


def test_roles_and_target_appear_when_set_without_a_password() -> None:
    inc = example()
    inc.roles = Roles(commander="alice", scribe="bob")
    inc.target = Target(dsn="postgresql://app:hunter2@db1:5432/shop", pgbouncer="")
    md = render(inc)
    summary = section(md, "Issue Summary")
    assert "- **Responders:** Incident commander: alice · Scribe: bob" in summary
    assert "- **Affected system:** postgresql://app@db1:5432/shop" in summary
    assert "hunter2" not in md
    inc.target = Target(
        dsn="host=db1 dbname=shop user=app password='sw0rd fish' sslmode=require",
        pgbouncer="postgresql://pgb@127.0.0.1:6432/pgbouncer?password=b0uncer",
    )
    md = render(inc)
    assert "sw0rd" not in md and "fish" not in md and "b0uncer" not in md
    assert "host=db1 dbname=shop user=app sslmode=require" in md
    assert "(PgBouncer postgresql://pgb@127.0.0.1:6432/pgbouncer)" in md


def test_lessons_seed_what_went_wrong_from_the_record() -> None:
    inc = example()
    inc.detected_at = None
    inc.set_key_time("detected_at", t(9, 12))
    wrong = section(render(inc), "Lessons Learned").split("### What went wrong")[1]
    wrong = wrong.split("### Where we got lucky")[0]
    assert "- Detection took 12m from impact start." in wrong
    assert "False lead followed at 2022-10-15 09:20 UTC: Suspected network latency" in wrong
    assert "False lead followed at 2022-10-15 09:30 UTC: Suspected a bug" in wrong
    assert "TODO: what slowed the response" in wrong


# -- metrics -------------------------------------------------------------------------------------


def rollups(statuses: str) -> list[SampleRollup]:
    """One 10 s rollup per character: u up, d down, p partial, '.' a gap with no rollup."""
    out = []
    start = t(10)
    for i, code in enumerate(statuses):
        if code == ".":
            continue
        up = code != "d"
        out.append(SampleRollup(
            at=start + timedelta(seconds=10 * i),
            samples=10,
            status={"u": "up", "d": "down", "p": "partial"}[code],
            conn_max=(50 + i) if up else None,
            max_connections=200 if up else None,
            query_p95_ms=(2.0 + i) if up else None,
            query_max_ms=(3.0 + i) if up else None,
            connect_max_ms=4.0 if up else None,
            refused=2 if code == "p" else 0,
        ))
    return out


def test_metrics_report_peaks_refusals_and_merged_down_windows() -> None:
    inc = example()
    samples = rollups("uuddduupuud.duudd")
    samples[3] = SampleRollup(at=samples[3].at, status="down", refused=5)
    peak = samples[1]
    samples[1] = SampleRollup(at=peak.at, status="up", conn_max=199, max_connections=200,
                              query_p95_ms=800.0, query_max_ms=1250.0, refused=1)
    inc.samples = list(reversed(samples))  # appended order must not matter
    metrics = section(render(inc), "Metrics")
    assert "From 16 sample windows" in metrics
    assert "- **Peak connections:** 199 of max_connections 200 (99%) at " \
           "2022-10-15 10:00:10 UTC" in metrics
    assert "- **Peak query latency:** 1,250 ms at 2022-10-15 10:00:10 UTC" in metrics
    assert "- **Connect refusals:** 8 in total, first at 2022-10-15 10:00:10 UTC, " \
           "last at 2022-10-15 10:01:10 UTC" in metrics
    # d at 20..50 s merged; d at 100 s stands alone (gap after it); then 120 s; then 150..170 s.
    assert "- **Down windows:** 4, 1m 10s in total" in metrics
    windows = re.findall(r"^  - (.*)$", metrics, flags=re.M)
    assert windows == [
        "2022-10-15 10:00:20 to 10:00:50 UTC (30s)",
        "2022-10-15 10:01:40 to 10:01:50 UTC (10s)",
        "2022-10-15 10:02:00 to 10:02:10 UTC (10s)",
        "2022-10-15 10:02:30 to 10:02:50 UTC (20s)",
    ]
    assert "- **Windows with some failed samples:** 1" in metrics


def test_metrics_without_downtime_or_latency_say_so() -> None:
    inc = example()
    inc.samples = [SampleRollup(at=t(10), status="up", conn_max=12)]
    metrics = section(render(inc), "Metrics")
    assert "- **Peak connections:** 12 (max_connections not recorded)" in metrics
    assert "- **Peak query latency:** not measured" in metrics
    assert "- **Connect refusals:** none" in metrics
    assert "- **Down windows:** none" in metrics


def test_latency_falls_back_to_p95_when_no_max_was_kept() -> None:
    inc = example()
    inc.samples = [SampleRollup(at=t(10), query_p95_ms=42.0),
                   SampleRollup(at=t(10, 1), query_p95_ms=7.5)]
    assert "- **Peak query latency:** 42 ms at 2022-10-15 10:00:00 UTC" in render(inc)


# -- hostile text --------------------------------------------------------------------------------


def hostile_incident(text: str) -> Incident:
    inc = Incident.create(text + " title", t(9))
    inc.summary = inc.impact = inc.root_cause = inc.trigger = inc.resolution = text
    inc.contributing_factors = (text, "a second factor")
    inc.roles = Roles(commander=text, scribe=text, comms=text)
    inc.target = Target(dsn=text)
    inc.add_entry(TimelineEntry(at=t(9, 5), text=text, kind=Kind.DETECTION, author=text))
    inc.add_entry(TimelineEntry(at=t(9, 10), text=text, kind=Kind.MISLEADING))
    inc.add_entry(TimelineEntry(at=t(9, 20), text=text, kind=Kind.RESOLUTION))
    inc.status_change("resolved", t(10))
    inc.action_items = [ActionItem(text, owner=text), ActionItem(text, status="done")]
    inc.samples = rollups("ud")
    return inc


def assert_structure_intact(inc: Incident, md: str) -> list[Token]:
    tokens = parse(md)
    assert len(headings(tokens, "h1")) == 1
    assert headings(tokens, "h2") == H2
    assert headings(tokens, "h3") == H3
    kinds = {tok.type for tok in tokens}
    for bad in ("code_block", "html_block", "blockquote_open", "hr", "ordered_list_open"):
        assert bad not in kinds, bad
    # The only fences are our Mermaid charts, made of numbers and our own words.
    for fence in (tok for tok in tokens if tok.type == "fence"):
        assert fence.info == "mermaid"
        for line in fence.content.splitlines():
            assert re.match(r"^(xychart-beta|    (title|x-axis|y-axis|line) )", line), line
    for tok in tokens:
        for child in tok.children or []:
            assert child.type not in ("html_inline", "link_open", "image", "em_open"), child
            # Our own code spans are command hints; none may come from the record.
            assert child.type != "code_inline" or child.content.startswith("warroom"), child
    assert len(top_items(section_tokens(tokens, "Timeline"))) == len(inc.timeline)
    misleading = [e for e in inc.timeline if e.kind is Kind.MISLEADING]
    assert len(top_items(section_tokens(tokens, "What We Ruled Out"))) == len(misleading)
    assert len(top_items(section_tokens(tokens, "Corrective and Preventative Measures"))) == 2
    assert not CONTROL.search(md)
    return tokens


def strong_texts(tokens: list[Token]) -> list[str]:
    out = []
    for tok in tokens:
        children = tok.children or []
        for i, child in enumerate(children):
            if child.type == "strong_open":
                out.append(children[i + 1].content)
    return out


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_cannot_change_the_document(text: str) -> None:
    inc = hostile_incident(text)
    md = render(inc)
    tokens = assert_structure_intact(inc, md)
    # Our own bold labels are the only strong text: none comes from the record.
    assert all(not s.startswith(("x", "strong")) for s in strong_texts(tokens))
    seen = plain(tokens)
    assert "\x1b" not in seen
    if "\x1b[" in text:  # the whole escape sequence goes, not only the ESC byte
        assert "[31m" not in seen


def test_hostile_text_reads_literally() -> None:
    for text in ("# x", "- [ ] y", "<script>alert(1)</script>", "`code` *em* [a](b)"):
        inc = hostile_incident(text)
        tokens = parse(render(inc))
        items = top_items(section_tokens(tokens, "Timeline"))
        assert any(item.endswith(f"— {text}") for item in items), (text, items)
        html = MarkdownIt("commonmark").render(render(inc))
        assert "<script>" not in html


def test_a_title_cannot_lose_its_trailing_hashes() -> None:
    inc = Incident.create("Fix for issue #", t(9))
    assert headings(parse(render(inc)), "h1") == ["Postmortem: Fix for issue #"]


def test_snake_case_stays_unescaped_but_cannot_emphasise() -> None:
    inc = example()
    inc.root_cause = "max_connections too low; _private_ and __dunder__ names"
    md = render(inc)
    assert "max_connections too low" in md
    seen = plain(section_tokens(parse(md), "Root Cause and Resolution"))
    assert "max_connections too low; _private_ and __dunder__ names" in seen


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60), st.text(max_size=20))
def test_any_text_leaves_the_structure_alone(text: str, author: str) -> None:
    inc = Incident.create("Anything goes " + text, t(9))
    inc.root_cause = text
    inc.add_entry(TimelineEntry(at=t(9, 5), text=text, author=author))
    inc.add_entry(TimelineEntry(at=t(9, 1), text=author, kind=Kind.MISLEADING))
    inc.action_items = [ActionItem(text, owner=author)]
    md = render(inc)
    tokens = parse(md)
    assert len(headings(tokens, "h1")) == 1
    assert headings(tokens, "h2") == H2
    assert headings(tokens, "h3") == H3
    assert len(top_items(section_tokens(tokens, "Timeline"))) == 2
    assert len(top_items(section_tokens(tokens, "Corrective and Preventative Measures"))) == 1
    assert not {"fence", "code_block", "html_block"} & {tok.type for tok in tokens}
    assert not CONTROL.search(md)
