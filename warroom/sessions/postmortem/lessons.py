"""## Lessons Learned: what went well, what went wrong, where we got lucky."""

from __future__ import annotations

from warroom.sessions.model import Incident, Kind, TimelineEntry
from warroom.sessions.postmortem.markdown import _item
from warroom.sessions.postmortem.stamps import _since_start, _stamp


def _lessons(incident: Incident, entries: list[TimelineEntry]) -> list[str]:
    lines = ["### What went well", "",
             "TODO: what helped: alerts that fired, runbooks that worked, people who helped."]
    lines += ["", "### What went wrong", ""]
    facts: list[list[str]] = []
    if incident.detected_at is not None and incident.detected_at > incident.started_at:
        facts.append([f"- Detection took {_since_start(incident, incident.detected_at)} "
                      "from impact start."])
    for entry in entries:
        if entry.kind is Kind.MISLEADING:
            facts.append(_item(f"False lead followed at {_stamp(entry.at)}: ", entry.text))
    if facts:
        lines += ["From the record:", ""]
        for fact in facts:
            lines += fact
        lines.append("")
    lines.append("TODO: what slowed the response or made it worse, and why.")
    lines += ["", "### Where we got lucky", "",
              "TODO: what could have made this much worse and did not happen."]
    return lines
