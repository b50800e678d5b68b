"""## Root Cause and Resolution, with warroom's findings kept apart from the humans' cause.

The root cause is one story; the contributing factors are a list of the conditions that let it
do harm (PagerDuty's contributing factors; Atlassian's causes besides the proximate one), each
one a follow-up can address.
"""

from __future__ import annotations

from warroom.sessions.model import Incident, Kind, TimelineEntry
from warroom.sessions.postmortem.markdown import _item, _prose
from warroom.sessions.postmortem.stamps import _stamp


def _root_cause(incident: Incident, entries: list[TimelineEntry]) -> list[str]:
    lines = ["### Root cause", ""]
    lines += _prose(incident.root_cause,
                    "TODO: describe the root cause: why it happened, not only what broke "
                    "(`warroom` field root_cause)")
    lines += ["", "### Contributing factors", ""]
    if incident.contributing_factors:
        for factor in incident.contributing_factors:
            lines += _item("", factor)
    else:
        lines.append("TODO: list what let the cause do harm or made it worse: a missing limit, "
                     "an alert that did not fire, a retry without backoff (`warroom` field "
                     "contributing_factors, one per line in the incident form)")
    lines += ["", "### Trigger", ""]
    lines += _prose(incident.trigger,
                    "TODO: what set it off: a deploy, a traffic spike, a job, a config change "
                    "(`warroom` field trigger)")
    lines += ["", "### Resolution", ""]
    lines += _prose(incident.resolution,
                    "TODO: describe what fixed it and how you knew it was fixed "
                    "(`warroom` field resolution)")
    lines += _findings(entries)
    steps = [e for e in entries if e.kind is Kind.RESOLUTION]
    if steps:
        lines += ["", "Resolution entries from the timeline:", ""]
        for entry in steps:
            lines += _item(f"{_stamp(entry.at)} — ", entry.text)
    return lines


def _findings(entries: list[TimelineEntry]) -> list[str]:
    """What warroom's rules concluded, kept apart from the cause the humans wrote (issue 11)."""
    found = [e for e in entries if e.kind in (Kind.FINDING, Kind.CHANGE)]
    if not found:
        return []
    lines = ["", "### warroom's findings (verify before you keep them)", ""]
    for entry in found:
        lines += _item(f"{_stamp(entry.at)} — ", entry.text)
    return lines
