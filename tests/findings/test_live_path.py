"""Findings through the dashboard's data path and into the draft: each raise once, server
changes passed on, the draft lists them under Root Cause as findings to verify."""

from __future__ import annotations

from dataclasses import replace

from tests.findings.samples import at, healthy, storm
from warroom.collectors.findings import Transition
from warroom.collectors.sample import ServerChange
from warroom.sessions.model import Incident, Kind, Source, TimelineEntry
from warroom.sessions.postmortem import render
from warroom.tui.state import LiveState


def test_each_finding_is_raised_once_while_it_holds() -> None:
    state = LiveState()
    raised = []
    for i in range(30):
        raised += [e for e in state.feed(storm(i)).findings if e.state is Transition.RAISED]
    assert sorted(e.finding.rule for e in raised) == ["network_fine", "pool"]
    view = state.findings_view()
    assert view.items[0][0] == "critical" and view.items[0][1].startswith("shop-api holds 46")


def test_server_changes_reach_the_record_path() -> None:
    state = LiveState()
    change = ServerChange("restart", at(5), "server restarted at 09:00:05 UTC; down for at most "
                          "3.0 s (last answer 09:00:02, up again 09:00:05)", downtime_s=3.0)
    fed = state.feed(replace(healthy(5), changes=(change,)))
    assert fed.changes == [change]


def test_process_title_counts_show_in_the_connections_pane() -> None:
    s = storm(0)
    down = replace(s, status="down", connections_source="process_titles", probe_error=None)
    state = LiveState()
    state.feed(down)
    view = state.connections_view(down.at, 1.0)
    assert view.total == s.connections.total
    assert "counted from process titles" in view.banner
    assert "process titles" in state.findings_view().source_note


def test_the_draft_lists_findings_to_verify_under_root_cause() -> None:
    incident = Incident.create("orders DB", at(0))
    for text, kind in (("shop-api holds 46 of 47 usable slots", Kind.FINDING),
                       ("server restarted at 09:03:00 UTC", Kind.CHANGE),
                       ("pager went off", Kind.NOTE)):
        incident.timeline.append(
            TimelineEntry(at=at(60), text=text, kind=kind, author="warroom", source=Source.AUTO)
        )
    draft = render(incident)
    root = draft.split("### Root cause", 1)[1].split("\n## ", 1)[0]
    section = root.split("### warroom's findings (verify before you keep them)", 1)[1]
    assert "shop-api holds 46 of 47 usable slots" in section
    assert "server restarted at 09:03:00 UTC" in section
    assert "pager went off" not in section
