"""## What We Ruled Out: the wrong turns, each with its evidence, when it was ruled out and
the time it cost.

Two things in the record say a path was a wrong one: an entry a responder marked ``misleading``
(the path followed), and a finding of the rules that exist to rule a path out (``network_fine``:
the network is fine, the server is full; ``waiting``: the host is idle, sessions wait). A finding
raised while a marked path was being followed is that path's evidence; one raised outside any
is a path of its own that warroom ruled out. A path is over at the next decision or at the
cause's identification, whichever comes first after it: that span is the time it cost.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from warroom.formats import format_duration
from warroom.sessions.model import Incident, Kind, TimelineEntry
from warroom.sessions.postmortem.markdown import _item
from warroom.sessions.postmortem.stamps import _stamp

# A finding reaches the timeline as its text alone (``[server] `` before it with several
# servers), so a rule is known by what it always says. tests/sessions/test_ruled_out.py runs
# each rule and checks its text is recognised here, so a rule's new wording fails a test.
RULING_OUT: tuple[tuple[str, str, str], ...] = (
    ("network_fine", "the network is fine, the server is full", "the network"),
    ("waiting", "sessions are waiting", "an overloaded server (the host CPU was idle)"),
)


@dataclass(slots=True)
class _Path:
    at: datetime  # when it was followed (a marked entry) or first ruled out (a finding)
    entry: TimelineEntry | None  # the misleading entry; None for a path only warroom ruled out
    rule: str = ""  # the rule of a path only warroom ruled out
    what: str = ""
    evidence: list[tuple[str, TimelineEntry]] = field(default_factory=list)
    closed: tuple[datetime, str] | None = None


def ruling_rule(entry: TimelineEntry) -> tuple[str, str] | None:
    """(rule, the path it rules out) when ``entry`` is a finding that rules a path out."""
    if entry.kind is not Kind.FINDING:
        return None
    for rule, says, what in RULING_OUT:
        if says in entry.text:
            return rule, what
    return None


class _Closes:
    """The next decision or identification after a time: (when, what it was)."""

    def __init__(self, incident: Incident, entries: list[TimelineEntry]) -> None:
        # Entries come in time order; a long session has thousands, so each look-up bisects.
        self.decisions = [e.at for e in entries if e.kind is Kind.DECISION]
        self.identified = incident.identified_at

    def after(self, at: datetime) -> tuple[datetime, str] | None:
        found: list[tuple[datetime, str]] = []
        index = bisect_right(self.decisions, at)
        if index < len(self.decisions):
            found.append((self.decisions[index], "the next decision"))
        if self.identified is not None and self.identified > at:
            found.append((self.identified, "the cause's identification"))
        return min(found, key=lambda pair: pair[0]) if found else None


def _paths(incident: Incident, entries: list[TimelineEntry]) -> list[_Path]:
    closes = _Closes(incident, entries)
    paths: list[_Path] = []
    for entry in entries:
        if entry.kind is Kind.MISLEADING:
            paths.append(_Path(entry.at, entry, closed=closes.after(entry.at)))
    alone: dict[tuple[str, datetime | None], _Path] = {}
    for entry in entries:
        rule = ruling_rule(entry)
        if rule is None:
            continue
        owner = next((p for p in paths if p.entry is not None and p.at <= entry.at
                      and (p.closed is None or entry.at <= p.closed[0])), None)  # fmt: skip
        if owner is not None:
            owner.evidence.append((rule[0], entry))
            continue
        # The same rule raised again before the same close is one path, not several.
        closed = closes.after(entry.at)
        key = (rule[0], closed[0] if closed else None)
        if key not in alone:
            alone[key] = _Path(entry.at, None, rule[0], rule[1], closed=closed)
        alone[key].evidence.append((rule[0], entry))
    return sorted([*paths, *alone.values()], key=lambda p: p.at)


def _ruled_out(incident: Incident, entries: list[TimelineEntry]) -> list[str]:
    paths = _paths(incident, entries)
    if not paths:
        return ["TODO: nothing in the record was ruled out. Mark each wrong turn when it happens "
                "(`warroom note --kind misleading TEXT`), so the review sees what it cost."]
    lines = ["Each path from when it was taken to the next decision or the cause's "
             "identification; times are UTC.", ""]
    for path in paths:
        lines += _path_lines(path)
    return lines


def _path_lines(path: _Path) -> list[str]:
    if path.entry is not None:
        lines = _item(f"{_stamp(path.at)} — followed: ", path.entry.text)
    else:
        lines = [f"- {_stamp(path.at)} — {path.what}: ruled out by warroom (`{path.rule}`)"]
    evidence = path.evidence
    if not evidence:
        lines.append("  - Evidence: TODO: what showed it was not this (none recorded)")
    for rule, entry in evidence[:3]:
        lines += _sub(f"Evidence ({rule}, {_stamp(entry.at)}): ", entry.text)
    if len(evidence) > 3:
        lines.append(f"  - … and {len(evidence) - 3} more raises of the same findings")
    # Ruled out when the evidence came, else when the team moved on.
    if evidence:
        lines.append(f"  - Ruled out: {_stamp(evidence[0][1].at)} (warroom's finding)")
    elif path.closed is not None:
        lines.append(f"  - Ruled out: {_stamp(path.closed[0])} (at {path.closed[1]})")
    else:
        lines.append("  - Ruled out: TODO: when (no decision or identification follows it)")
    if path.closed is None:
        lines.append("  - Time it cost: not known: no decision or identification follows it")
    else:
        when, what = path.closed
        lines.append(f"  - Time it cost: {format_duration(when - path.at)} "
                     f"(until {what}, {_stamp(when)})")
    return lines


def _sub(head: str, text: str) -> list[str]:
    """A nested list item: ``_item`` indented under the path's item."""
    return ["  " + line for line in _item(head, text)]
