"""The incident of shared/reference/example-postmortem.txt, re-entered through the CLI the way a
scribe would after the fact: backdated notes, typed out of order. The draft must get it right."""

from __future__ import annotations

import random
from pathlib import Path

from cli_helpers import run_warroom
from markdown_it import MarkdownIt

DAY = "2022-10-15"

# (time, kind, text) from the example's timeline.
EVENTS = [
    ("09:00", "detection", "Monitoring alerts: prolonged server response times"),
    ("09:05", "escalation", "Engineers summoned"),
    ("09:10", "action", "Investigation began: server logs and database performance"),
    ("09:20", "misleading", "Suspected network latency; examined network configuration"),
    ("09:30", "misleading", "Suspected an application bug overloading the database"),
    ("10:00", "escalation", "Escalated to the senior engineering team"),
    ("10:10", "note", "Misconfigured connection pool found as a potential cause"),
    ("10:45", "escalation", "Handed over to the database administration team"),
    ("11:30", "resolution", "Connection pool reconfigured and database server restarted"),
]


def _section(draft: str, heading: str) -> str:
    start = draft.index(f"## {heading}\n")
    rest = draft[start + len(heading) + 4 :]
    end = rest.find("\n## ")
    return rest if end == -1 else rest[:end]


def test_example_postmortem_reentered_out_of_order(tmp_path: Path) -> None:
    created = run_warroom(
        "new", "--title", "Web stack outage: the great database tango", "--severity", "SEV1",
        "--at", f"{DAY}T09:00:00Z", home=tmp_path, check=True,
    )
    session = Path(created.stdout.strip())

    shuffled = EVENTS[:]
    random.Random(7).shuffle(shuffled)
    for clock, kind, text in shuffled:
        run_warroom(
            "note", "--session", str(session), "--at", f"{DAY}T{clock}:00Z", "--kind", kind, text,
            home=tmp_path, check=True,
        )
    run_warroom("status", "--session", str(session), "identified", "--at", f"{DAY}T10:30:00Z",
                home=tmp_path, check=True)
    run_warroom("status", "--session", str(session), "resolved", "--at", f"{DAY}T11:30:00+00:00",
                home=tmp_path, check=True)

    out = tmp_path / "postmortem.md"
    run_warroom("postmortem", str(session), "-o", str(out), home=tmp_path, check=True)
    draft = out.read_text()

    summary = _section(draft, "Issue Summary")
    assert "2h 30m" in summary
    assert "UTC" in summary

    # Time to detect is zero here: the alert fired at impact start.
    detection = _section(draft, "Detection")
    assert "2h 30m" in detection  # time to resolve

    timeline = _section(draft, "Timeline")
    positions = [timeline.index(text) for _, _, text in EVENTS]
    assert positions == sorted(positions), "timeline entries are not in time order"
    for clock, _, text in EVENTS:
        line = next(line for line in timeline.splitlines() if text in line)
        assert clock in line
    marked = [line for line in timeline.splitlines() if "misleading" in line.lower()]
    assert len(marked) == 2
    assert all("Suspected" in line for line in marked)
    assert "identified" in timeline and "resolved" in timeline

    tokens = MarkdownIt("commonmark").parse(draft)
    h2 = [
        tokens[i + 1].content
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open" and tok.tag == "h2"
    ]
    for heading in (
        "Issue Summary", "Impact", "Detection", "Timeline", "Root Cause and Resolution",
        "Corrective and Preventative Measures", "Lessons Learned", "Metrics",
    ):
        assert heading in h2
