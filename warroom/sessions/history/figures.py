"""The history's figures from many incidents: counts by severity and month, the mean times to
detect, mitigate and resolve by month, the findings and names that come back, and follow-ups.

Pure: summaries and a day in, figures out, so the command, the page and the tests agree. A
month is the UTC month of impact start. A mean time is over the incidents of that month that
have both times (an incident never detected does not count as detected in 0 s); how many it is
over is kept beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from warroom.sanitize import one_line
from warroom.sessions.history.findings import kind_of, named
from warroom.sessions.history.read import Summary
from warroom.sessions.model import SEVERITIES, ActionStatus, Incident

# A name is a villain when it comes back: named by findings in this many incidents or more.
VILLAIN_MIN_INCIDENTS = 2
TOP = 10  # findings and villains listed
OVERDUE_LISTED = 20

# (key, label, the key time it ends at): measured from impact start.
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("mttd", "MTTD", "detected_at"),
    ("mttm", "MTTM", "mitigated_at"),
    ("mttr", "MTTR", "resolved_at"),
)


@dataclass(frozen=True, slots=True)
class Mean:
    value: timedelta | None
    over: int  # incidents that had the time


@dataclass(frozen=True, slots=True)
class Month:
    month: str  # YYYY-MM
    incidents: int
    by_severity: dict[str, int]
    means: dict[str, Mean]  # by MEASURES key
    open_follow_ups: int
    overdue_follow_ups: int


@dataclass(frozen=True, slots=True)
class Overdue:
    incident: str
    title: str
    text: str
    owner: str
    due: date


@dataclass(frozen=True, slots=True)
class Row:
    """One incident in the index."""

    id: str
    title: str
    severity: str
    status: str
    started_at: datetime
    duration: timedelta | None  # impact start to resolution (else mitigation); None: ongoing
    where: str


@dataclass(slots=True)
class History:
    incidents: int
    today: date
    by_severity: dict[str, int]
    months: list[Month]
    means: dict[str, Mean]  # over every incident
    findings: list[tuple[str, int]]  # (kind, incidents), most first
    villains: list[tuple[str, int]]  # (name, incidents), in VILLAIN_MIN_INCIDENTS or more
    open_follow_ups: int
    done_follow_ups: int
    dropped_follow_ups: int
    overdue: list[Overdue]  # every overdue item, most overdue first
    rows: list[Row]  # newest first
    problems: list[str] = field(default_factory=list)  # files that could not be read


def _mean(incidents: list[Incident], end: str) -> Mean:
    spans = [getattr(i, end) - i.started_at for i in incidents if getattr(i, end) is not None]
    if not spans:
        return Mean(None, 0)
    total = sum(spans, timedelta())
    return Mean(timedelta(seconds=round(total.total_seconds() / len(spans))), len(spans))


def _means(incidents: list[Incident]) -> dict[str, Mean]:
    return {key: _mean(incidents, end) for key, _, end in MEASURES}


def _severities(incidents: list[Incident]) -> dict[str, int]:
    counted = Counter(i.severity for i in incidents)
    return {severity: counted.get(severity, 0) for severity in SEVERITIES}


def _ranked(counter: Counter[str], least: int = 1) -> list[tuple[str, int]]:
    found = [(name, n) for name, n in counter.items() if n >= least]
    return sorted(found, key=lambda kv: (-kv[1], kv[0]))[:TOP]


def collect(summaries: Iterable[Summary], today: date, problems: list[str] | None = None
            ) -> History:
    """The figures over ``summaries``; follow-ups are overdue when open and due before
    ``today``."""
    items = sorted(summaries, key=lambda s: s.incident.started_at, reverse=True)
    incidents = [s.incident for s in items]
    by_month: dict[str, list[Summary]] = {}
    for summary in items:
        by_month.setdefault(f"{summary.incident.started_at:%Y-%m}", []).append(summary)
    findings: Counter[str] = Counter()
    villains: Counter[str] = Counter()
    overdue: list[Overdue] = []
    statuses: Counter[ActionStatus] = Counter()
    open_in: Counter[str] = Counter()
    late_in: Counter[str] = Counter()
    for summary in items:
        month = f"{summary.incident.started_at:%Y-%m}"
        # Each kind and name counts once per incident: "in how many incidents".
        findings.update({kind_of(e.text) for e in summary.findings})
        villains.update(set().union(*(named(e.text) for e in summary.findings)))
        for item in summary.action_items:
            statuses[item.status] += 1
            if item.status is ActionStatus.OPEN:
                open_in[month] += 1
            if item.overdue(today) and item.due is not None:
                late_in[month] += 1
                overdue.append(Overdue(summary.incident.id, summary.incident.title,
                                       item.text, item.owner, item.due))
    months = [
        Month(month, len(group), _severities([s.incident for s in group]),
              _means([s.incident for s in group]), open_in[month], late_in[month])
        for month, group in sorted(by_month.items(), reverse=True)
    ]
    rows = [Row(s.incident.id, s.incident.title, s.incident.severity, s.incident.status.value,
                s.incident.started_at,
                None if s.incident.end is None else s.incident.end - s.incident.started_at,
                s.where) for s in items]
    return History(
        incidents=len(incidents), today=today, by_severity=_severities(incidents),
        months=months, means=_means(incidents), findings=_ranked(findings),
        villains=_ranked(villains, VILLAIN_MIN_INCIDENTS),
        open_follow_ups=statuses[ActionStatus.OPEN],
        done_follow_ups=statuses[ActionStatus.DONE],
        dropped_follow_ups=statuses[ActionStatus.WONT_DO],
        overdue=sorted(overdue, key=lambda o: (o.due, o.incident, o.text)),
        rows=rows, problems=list(problems or []),
    )


def as_json(history: History) -> dict[str, object]:
    """The figures as JSON values: durations in seconds, recorded text on one line."""

    def seconds(mean: Mean) -> dict[str, object]:
        value = None if mean.value is None else int(mean.value.total_seconds())
        return {"seconds": value, "over": mean.over}

    return {
        "incidents": history.incidents,
        "today": history.today.isoformat(),
        "by_severity": history.by_severity,
        "means": {key: seconds(mean) for key, mean in history.means.items()},
        "months": [
            {"month": m.month, "incidents": m.incidents, "by_severity": m.by_severity,
             **{key: seconds(mean) for key, mean in m.means.items()},
             "open_follow_ups": m.open_follow_ups, "overdue_follow_ups": m.overdue_follow_ups}
            for m in history.months
        ],
        "findings": [{"finding": one_line(k), "incidents": n} for k, n in history.findings],
        "villains": [{"name": one_line(k), "incidents": n} for k, n in history.villains],
        "follow_ups": {
            "open": history.open_follow_ups, "done": history.done_follow_ups,
            "wont_do": history.dropped_follow_ups, "overdue": len(history.overdue),
            "overdue_items": [
                {"incident": one_line(o.incident), "title": one_line(o.title),
                 "text": one_line(o.text), "owner": one_line(o.owner),
                 "due": o.due.isoformat()} for o in history.overdue
            ],
        },
        "incident_list": [
            {"id": one_line(r.id), "title": one_line(r.title), "severity": r.severity,
             "status": r.status, "started_at": r.started_at.isoformat(),
             "duration_s": None if r.duration is None else int(r.duration.total_seconds()),
             "where": one_line(r.where)} for r in history.rows
        ],
        "unreadable": [one_line(p) for p in history.problems],
    }
