"""The page's content as plain data: one builder for the server's HTML and the live updates.

``build(incident, now)`` returns three JSON-ready parts (header, timeline, figures). The HTML
renderer and the browser script both draw from these, so the first paint and a live update can
never disagree. Every text is sanitised here (``warroom.sanitize``); escaping for HTML is the
renderer's job, and the browser only ever sets ``textContent``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warroom.formats import format_duration, format_offset, format_utc, lag_text
from warroom.sanitize import one_line, text_block
from warroom.sessions import servers
from warroom.sessions.model import Incident, Kind, SampleRollup, Status
from warroom.sessions.times import as_utc
from warroom.web import charts

KEY_LABELS: tuple[tuple[str, str], ...] = (
    ("started_at", "Impact start"),
    ("detected_at", "Detected"),
    ("identified_at", "Identified"),
    ("mitigated_at", "Mitigated"),
    ("resolved_at", "Resolved"),
)
DURATIONS: tuple[tuple[str, str], ...] = (
    ("detected_at", "Time to detect"),
    ("mitigated_at", "Time to mitigate"),
    ("resolved_at", "Time to resolve"),
)
KINDS: tuple[str, ...] = tuple(kind.value for kind in Kind)
# Refusals are summed over this much of the newest rollups ("in the last minute").
REFUSAL_WINDOW = timedelta(minutes=1)
TOP_APPS = 5


@dataclass(frozen=True, slots=True)
class State:
    header: dict[str, Any]
    timeline: dict[str, Any]
    figures: dict[str, Any]

    def parts(self) -> dict[str, dict[str, Any]]:
        return {"header": self.header, "timeline": self.timeline, "figures": self.figures}


def encode(part: Any) -> str:
    """JSON safe anywhere: no raw ``<``, ``>`` or ``&`` even inside strings, and one line."""
    text = json.dumps(part, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def iso(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


def build(incident: Incident, now: datetime, problem: str | None = None) -> State:
    return State(header(incident, now, problem), timeline(incident), figures(incident, now))


# -- header -----------------------------------------------------------------------------------


def _since_start(incident: Incident, end: datetime) -> str:
    return format_duration(end - incident.started_at)


def header(incident: Incident, now: datetime, problem: str | None = None) -> dict[str, Any]:
    stop = incident.resolved_at
    clock_end = stop if stop is not None else now
    times = [
        {
            "name": name,
            "label": label,
            "at": iso(getattr(incident, name)),
            "text": format_utc(value) if (value := getattr(incident, name)) else "—",
        }
        for name, label in KEY_LABELS
    ]
    durations = []
    for name, label in DURATIONS:
        value = getattr(incident, name)
        ongoing = value is None and incident.status is not Status.RESOLVED
        if value is not None:
            text = _since_start(incident, value)
        elif ongoing:
            text = f"{_since_start(incident, now)} so far"
        else:
            text = "—"  # resolved without this time recorded: nothing honest to show
        durations.append(
            {"name": name, "label": label, "to": iso(value), "ongoing": ongoing, "text": text}
        )
    return {
        "id": one_line(incident.id),
        "title": one_line(incident.title),
        "severity": one_line(incident.severity),
        "status": incident.status.value,
        "started_at": iso(incident.started_at),
        "resolved_at": iso(stop),
        "clock": format_offset(clock_end - incident.started_at),
        "summary": text_block(incident.summary).strip(),
        "impact": text_block(incident.impact).strip(),
        "times": times,
        "durations": durations,
        "problem": one_line(problem) if problem else None,
    }


# -- timeline ---------------------------------------------------------------------------------


def timeline(incident: Incident) -> dict[str, Any]:
    entries = []
    for entry in reversed(incident.entries_in_order()):
        entries.append(
            {
                "id": one_line(entry.id),
                "at": iso(entry.at),
                "time": f"{entry.at:%H:%M:%S}",
                "offset": format_offset(entry.at - incident.started_at),
                "kind": entry.kind.value,
                "author": one_line(entry.author),
                "source": entry.source.value,
                "text": text_block(entry.text).strip(),
            }
        )
    return {"entries": entries, "kinds": list(KINDS)}


def fold(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any] | list[dict[str, Any]]]:
    """Runs of two or more alert entries become one list (shown folded); others stay single.

    The browser script folds the same way (static/app.js ``fold``).
    """
    out: list[dict[str, Any] | list[dict[str, Any]]] = []
    run: list[dict[str, Any]] = []
    for entry in entries:
        if entry["kind"] == Kind.ALERT.value:
            run.append(entry)
            continue
        if run:
            out.append(run if len(run) > 1 else run[0])
            run = []
        out.append(entry)
    if run:
        out.append(run if len(run) > 1 else run[0])
    return out


# -- figures ----------------------------------------------------------------------------------


def usable(rollup: SampleRollup) -> int | None:
    """Slots applications may use; schema-1 rollups only know max_connections."""
    value = getattr(rollup, "usable", None)
    return value if value is not None else rollup.max_connections


def connections(rollup: SampleRollup) -> int | None:
    """The window's connections: its last count when recorded (schema 2), else its peak."""
    value = getattr(rollup, "conn_last", None)
    return value if value is not None else rollup.conn_max


def top_apps(rollup: SampleRollup) -> list[dict[str, Any]]:
    """Top applications of a rollup (schema 2 ``top_apps``: (name, count) pairs); names are
    hostile. Schema-1 rollups have none."""
    apps: list[dict[str, Any]] = []
    for item in getattr(rollup, "top_apps", None) or ():
        if not isinstance(item, list | tuple) or len(item) != 2:
            continue
        name, count = item
        apps.append({"name": one_line(name, 60) or "(no name)",
                     "count": count if isinstance(count, int) else None})
    return apps[:TOP_APPS]


def server_refused(recent: list[SampleRollup]) -> int | None:
    """What the server's own log refused in ``recent`` windows; None when it was not read."""
    counted = [r.log_refused for r in recent if r.log_refused is not None]
    return sum(counted) if counted else None


def holders(rollup: SampleRollup) -> list[dict[str, Any]]:
    """Who held the slots: a group is its application, else ``user X`` (never merged)."""
    return [{"name": one_line(g.name, 60), "count": g.count,
             "client": one_line(g.clients[0].name, 60) if g.clients else ""}
            for g in rollup.top_groups[:TOP_APPS]]  # fmt: skip


def figures(incident: Incident, now: datetime) -> dict[str, Any]:
    split = servers.by_server(incident)
    if servers.several(split):
        return several(incident, now, split)
    samples = sorted(incident.samples, key=lambda r: r.at)
    last = samples[-1] if samples else None
    current: dict[str, Any] = {
        "as_of": None, "status": None, "connections": None, "usable": None, "saturation": None,
        "p95_ms": None, "refused_1m": None, "apps": [], "server_refused_1m": None, "holders": [],
    }
    if last is not None:
        conn, slots = connections(last), usable(last)
        recent = [r for r in samples if r.at > last.at - REFUSAL_WINDOW]
        current.update(
            as_of=iso(last.at),
            status=one_line(last.status),
            connections=conn,
            usable=slots,
            saturation=round(100 * conn / slots) if conn is not None and slots else None,
            p95_ms=last.query_p95_ms,
            refused_1m=sum(r.refused for r in recent),
            apps=top_apps(last),
            server_refused_1m=server_refused(recent),
            holders=holders(last),
        )
    start = incident.started_at
    end = incident.resolved_at or now
    if samples and samples[-1].at > end:
        end = samples[-1].at
    return {
        "current": current,
        "charts": charts.render_all(
            samples, start, end, connections, usable,
            {name: value for name in charts.MARK_LABELS
             if (value := getattr(incident, name)) is not None},
        ),
    }


# -- several servers (issue 12) -----------------------------------------------------------------

# A server whose newest window ended longer ago than this is "stale": the dashboard stopped
# writing its rollups (windows are 10 s and written as they close, so 30 s is three missed).
STALE_AFTER_S = 30.0


def server_state(status: str | None, until: datetime | None, now: datetime,
                 resolved: bool) -> str:
    """up, partial, DOWN or stale: the last window's status, unless it is too old to trust.

    Once the incident is resolved nobody is recording any more, so age says nothing. The
    browser script applies the same rule every second (static/app.js ``serverState``).
    """
    if until is None:
        return "stale"
    if not resolved and (now - until).total_seconds() > STALE_AFTER_S:
        return "stale"
    if status == "down":
        return "DOWN"
    return "partial" if status == "partial" else "up"


def _server(name: str | None, rollups: list[SampleRollup]) -> dict[str, Any]:
    last = rollups[-1]
    conn, slots = connections(last), usable(last)
    return {
        "name": one_line(servers.label(name), 80) or "(no name)",
        "roles": one_line(servers.roles_text(servers.roles_seen(rollups))),
        "role": one_line(last.role) if last.role else None,
        "as_of": iso(last.at),
        "until": iso(last.end),
        "status": one_line(last.status),
        "connections": conn,
        "usable": slots,
        "saturation": round(100 * conn / slots) if conn is not None and slots else None,
        "p95_ms": last.query_p95_ms,
        # The window's worst lag: a replica's own, a primary's worst standby's.
        "lag": lag_text(last.lag_bytes, last.lag_s) or None,
        "repl_state": one_line(last.repl_state) if last.repl_state else None,
    }


def several(
    incident: Incident, now: datetime, split: dict[str | None, list[SampleRollup]]
) -> dict[str, Any]:
    """The servers strip and each server's charts; the single-server cards have no place here."""
    newest = max(r.at for rollups in split.values() for r in rollups)
    start = incident.started_at
    end = incident.resolved_at or now
    end = max(end, newest)
    rows = [_server(name, rollups) for name, rollups in split.items()]
    drawn = charts.render_servers(
        list(split.values()), start, end, connections, usable,
        {name: value for name in charts.MARK_LABELS
         if (value := getattr(incident, name)) is not None},
    )
    for row, svg in zip(rows, drawn, strict=True):
        row["charts"] = svg
    return {"as_of": iso(newest), "stale_after_s": STALE_AFTER_S, "servers": rows}
