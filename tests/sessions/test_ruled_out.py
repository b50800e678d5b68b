"""The draft's "What We Ruled Out", contributing factors and follow-up statuses (issue 23).

The storm's golden (tests/fixtures/golden-storm-ruled-out.md) is the whole draft of a connection
storm where the responders suspected the network (warroom's finding ruled it out), then an
application bug. After a deliberate change to the draft, rewrite it with
``WARROOM_REGEN_GOLDEN=1 .venv/bin/pytest tests/sessions/test_ruled_out.py`` and read the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from findings.samples import host, locks, storm
from markdown_it import MarkdownIt

from warroom.collectors.findings import FindingsEngine, Transition
from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    Source,
    Target,
    TimelineEntry,
)
from warroom.sessions.postmortem import render
from warroom.sessions.postmortem.ruled_out import RULING_OUT, ruling_rule

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOLDEN = FIXTURES / "golden-storm-ruled-out.md"
START = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)


def _raised(engine: FindingsEngine, samples: list) -> dict[str, str]:
    """The timeline text of each rule's first raise, as the dashboard writes it."""
    found: dict[str, str] = {}
    for s in samples:
        for event in engine.feed(s):
            if event.state is Transition.RAISED:
                found.setdefault(event.finding.rule, event.message)
    return found


def storm_findings() -> dict[str, str]:
    return _raised(FindingsEngine(), [storm(i) for i in range(3)])


def waiting_findings() -> dict[str, str]:
    engine = FindingsEngine()
    engine.feed_host(host(6.0))
    return _raised(engine, [locks(i) for i in range(3)])


def at(minutes: float) -> datetime:
    return START + timedelta(seconds=round(minutes * 60))


def note(minutes: float, kind: Kind, text: str, who: str = "ana") -> TimelineEntry:
    auto = kind in (Kind.FINDING, Kind.ALERT)
    return TimelineEntry(at=at(minutes), text=text, kind=kind, author="warroom" if auto else who,
                         source=Source.AUTO if auto else Source.CLI, id=f"{int(minutes * 60):08x}")


def storm_incident() -> Incident:
    """A connection storm without samples: the findings' texts are the real rules' words."""
    found = storm_findings()
    inc = Incident.create("checkout DB refusing connections", START, severity="SEV1",
                          target=Target(dsn="host=db1 dbname=shop user=monitor"))
    inc.summary = "shop-api held every usable slot idle in transaction; checkout failed."
    inc.root_cause = "shop-api leaked transactions on a payment-provider timeout path."
    inc.contributing_factors = (
        "shop-api's pool had no cap per host",
        "no alert on idle-in-transaction sessions",
        "retries without backoff multiplied the connection attempts",
    )
    inc.trigger = "payment provider slowed down at 18:28"
    inc.resolution = "rolled back shop-api 4.2; killed the idle transactions"
    for entry in (
        note(1, Kind.ALERT, "saturation 97 % of usable slots"),
        note(2, Kind.DETECTION, "pager: checkout errors"),
        note(3, Kind.MISLEADING, "suspected the network: app hosts report connect timeouts"),
        note(3.5, Kind.FINDING, found["network_fine"]),
        note(6, Kind.DECISION, "stop chasing the network; look at who holds the slots", "bob"),
        note(6.5, Kind.FINDING, found["pool"]),
        note(9, Kind.MISLEADING, "suspected a bug in checkout's new retry code"),
        note(14, Kind.DECISION, "roll back shop-api 4.2", "bob"),
        note(16, Kind.ACTION, "killed idle-in-transaction sessions of shop-api"),
    ):
        inc.add_entry(entry)
    inc.status_change("identified", at(12), "bob", Source.CLI, entry_id="identified")
    inc.status_change("monitoring", at(17), "bob", Source.CLI, entry_id="monitoring")
    inc.status_change("resolved", at(25), "bob", Source.CLI, entry_id="resolved")
    inc.action_items = [
        ActionItem("cap shop-api's pool at 20 per host", owner="bob", due=date(2026, 12, 1),
                   id="a1"),
        ActionItem("alert on idle in transaction over 60 s", owner="ana", kind="detect",
                   status="done", id="a2"),
        ActionItem("rewrite the payment client", kind="prevent", status="wont_do", id="a3"),
    ]
    return inc


def section(draft: str, heading: str) -> str:
    start = draft.index(f"## {heading}\n") + len(heading) + 4
    end = draft.find("\n## ", start)
    return draft[start:] if end == -1 else draft[start:end]


def test_the_storm_draft_matches_its_golden() -> None:
    draft = render(storm_incident())
    if os.environ.get("WARROOM_REGEN_GOLDEN"):
        GOLDEN.write_text(draft)
    assert draft == GOLDEN.read_text()


def test_the_wrong_turns_have_their_evidence_when_and_cost() -> None:
    draft = render(storm_incident())
    ruled = section(draft, "What We Ruled Out")
    network, bug = [part for part in ruled.split("\n- ")[1:]]
    # The network: ruled out by warroom's finding half a minute in; 3 minutes to the decision.
    assert network.startswith("2026-11-24 18:33 UTC — followed: suspected the network")
    assert "Evidence (network_fine, 2026-11-24 18:33:30 UTC): round trip on the held" in network
    assert "Ruled out: 2026-11-24 18:33:30 UTC (warroom's finding)" in network
    assert "Time it cost: 3m (until the next decision, 2026-11-24 18:36 UTC)" in network
    # The bug: no finding; identification (18:42) came before the next decision (18:44).
    assert "Evidence: TODO" in bug
    assert "Ruled out: 2026-11-24 18:42 UTC (at the cause's identification)" in bug
    assert "Time it cost: 3m (until the cause's identification, 2026-11-24 18:42 UTC)" in bug
    # The pool finding names the cause; it rules nothing out.
    assert "holds 46 of 47" not in ruled


def test_a_finding_outside_any_marked_path_is_a_path_warroom_ruled_out() -> None:
    inc = storm_incident()
    inc.timeline = [e for e in inc.timeline if e.kind is not Kind.MISLEADING]
    # Raised twice before the same decision: one path, both raises its evidence.
    again = note(4.5, Kind.FINDING, "[db1] " + storm_findings()["network_fine"])
    inc.add_entry(again)
    ruled = section(render(inc), "What We Ruled Out")
    items = [line for line in ruled.splitlines() if line.startswith("- ")]
    assert items == ["- 2026-11-24 18:33:30 UTC — the network: ruled out by warroom "
                     "(`network_fine`)"]
    assert ruled.count("Evidence (network_fine") == 2
    assert "Time it cost: 2m 30s (until the next decision, 2026-11-24 18:36 UTC)" in ruled


def test_the_rules_that_rule_a_path_out_are_known_by_their_own_words() -> None:
    # The real rules' texts, as the timeline holds them (with a server tag, with several).
    texts = {**storm_findings(), **waiting_findings()}
    assert {rule for rule, _, _ in RULING_OUT} <= set(texts)
    for rule, text in texts.items():
        for tagged in (text, f"[replica-1] {text}"):
            entry = TimelineEntry(at=START, text=tagged, kind=Kind.FINDING, source=Source.AUTO)
            found = ruling_rule(entry)
            if rule in ("network_fine", "waiting"):
                assert found is not None and found[0] == rule, (rule, text)
            else:  # the pool, the lock root...: they name a cause, they rule nothing out
                assert found is None, (rule, text)
        # A note that quotes a finding is a note, not the finding.
        assert ruling_rule(TimelineEntry(at=START, text=text, kind=Kind.NOTE)) is None


def test_a_marked_path_with_nothing_after_it_says_its_cost_is_unknown() -> None:
    inc = Incident.create("slow checkout", START)
    inc.add_entry(note(5, Kind.MISLEADING, "suspected the new index"))
    ruled = section(render(inc), "What We Ruled Out")
    assert "Ruled out: TODO" in ruled
    assert "Time it cost: not known: no decision or identification follows it" in ruled


def test_a_record_with_no_samples_and_no_wrong_turns_asks_for_them() -> None:
    inc = Incident.create("slow checkout", START)
    draft = render(inc)
    assert section(draft, "What We Ruled Out").strip().startswith("TODO: nothing in the record")
    factors = section(draft, "Root Cause and Resolution").split("### Contributing factors\n\n")[1]
    assert factors.startswith("TODO: list what let the cause do harm")


def test_contributing_factors_are_a_list_under_the_root_cause() -> None:
    draft = render(storm_incident())
    tokens = MarkdownIt("commonmark").parse(draft)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.tag == "h3"
                and t.type == "heading_open"]  # fmt: skip
    assert headings.index("Root cause") + 1 == headings.index("Contributing factors")
    root = section(draft, "Root Cause and Resolution")
    block = root.split("### Contributing factors\n\n")[1].split("\n\n")[0]
    assert block.splitlines() == [
        "- shop-api's pool had no cap per host",
        "- no alert on idle-in-transaction sessions",
        "- retries without backoff multiplied the connection attempts",
    ]


def test_follow_ups_show_status_owner_and_due() -> None:
    measures = section(render(storm_incident()), "Corrective and Preventative Measures")
    assert measures.strip().splitlines() == [
        "- [ ] cap shop-api's pool at 20 per host — open · prevent · owner: bob · due 2026-12-01",
        "- [x] alert on idle in transaction over 60 s — done · detect · owner: ana",
        "- [ ] rewrite the payment client — won't do · prevent",
    ]
