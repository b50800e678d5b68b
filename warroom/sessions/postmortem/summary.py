"""The draft's title, ## Issue Summary and ## Impact."""

from __future__ import annotations

from datetime import tzinfo

from warroom.formats import format_duration
from warroom.sessions import servers
from warroom.sessions.model import Incident, RefusedFigure, SampleRollup
from warroom.sessions.postmortem.impact import Levels, impact_numbers
from warroom.sessions.postmortem.lead_up import lead_up
from warroom.sessions.postmortem.markdown import _first_paragraph, _heading_text, _prose, one_line
from warroom.sessions.postmortem.stamps import _at, _stamp
from warroom.sessions.toml_codec import scrub_dsn

_RESOLVE_HINT = "`warroom status resolved --at TIME`"


def _title(incident: Incident) -> list[str]:
    title = _heading_text(one_line(incident.title)) or "TODO: give the incident a title"
    return [
        f"# Postmortem: {title}",
        "",
        f"Incident {one_line(incident.id)} · {incident.severity} · status: "
        f"{incident.status.value} · draft written by warroom from the session record; "
        "replace every TODO before you share it.",
    ]


def _roles(incident: Incident) -> str:
    roles = incident.roles
    named = [
        f"{label}: {one_line(value)}"
        for label, value in (
            ("Incident commander", roles.commander),
            ("Scribe", roles.scribe),
            ("Comms", roles.comms),
        )
        if one_line(value)
    ]
    if named:
        return " · ".join(named)
    return "TODO: name who held the roles, if anyone did (incident commander, scribe, comms)"


def _end_lines(incident: Incident, zone: tzinfo | None) -> list[str]:
    if incident.resolved_at is not None:
        end = incident.resolved_at
        return [
            f"- **End:** {_at(end, zone, 'resolved')}",
            f"- **Duration:** {format_duration(end - incident.started_at)}",
        ]
    if incident.mitigated_at is not None:
        end = incident.mitigated_at
        return [
            f"- **End:** {_at(end, zone, 'mitigated; not yet resolved')}. TODO: record the "
            f"resolution with {_RESOLVE_HINT} and render the draft again",
            f"- **Duration:** {format_duration(end - incident.started_at)} to mitigation",
        ]
    return [
        "- **End:** not yet resolved: the incident is ongoing. TODO: when it is over, record it "
        f"with {_RESOLVE_HINT} and render the draft again",
        "- **Duration:** ongoing (TODO: known once the incident is resolved)",
    ]


def _summary(incident: Incident, zone: tzinfo | None) -> list[str]:
    start = incident.started_at
    zone_note = "all times are UTC"
    if zone is not None:
        zone_note += f"; local times in brackets are {getattr(zone, 'key', str(zone))}"
    target = one_line(scrub_dsn(incident.target.dsn))
    bouncer = one_line(scrub_dsn(incident.target.pgbouncer))
    system = target or "TODO: name the database or cluster affected"
    if bouncer:
        system += f" (PgBouncer {bouncer})" if target else f"PgBouncer {bouncer}"
    impact = _first_paragraph(incident.impact) or "TODO: one line on who was affected and how"
    cause = _first_paragraph(incident.root_cause) or "TODO: one line on the root cause"
    return [
        *_prose(
            incident.summary,
            "TODO: summarise in two or three sentences what happened, for readers who stop "
            "here (`warroom` field summary)",
        ),
        "",
        f"- **Start:** {_at(start, zone, 'impact start')}",
        *_end_lines(incident, zone),
        f"- **Time zone:** {zone_note}",
        f"- **Severity:** {incident.severity} · **Status:** {incident.status.value}",
        f"- **Impact:** {impact}",
        f"- **Root cause:** {cause}",
        f"- **Affected system:** {system}",
        f"- **Responders:** {_roles(incident)}",
    ]


def _impact(incident: Incident, levels: Levels | None = None) -> list[str]:
    """The responder's words first, then the numbers the record holds, then the lead-up."""
    lines = _prose(
        incident.impact,
        "TODO: describe who and what was affected, how badly and for how long: users, "
        "requests, errors, data (`warroom` field impact)",
    )
    end = incident.end
    if end is not None:
        lines += ["", f"Impact lasted {format_duration(end - incident.started_at)}, from "
                  f"{_stamp(incident.started_at)} to {_stamp(end)}."]
    else:
        lines += ["", f"Impact began {_stamp(incident.started_at)} and is not yet over."]
    split = servers.by_server(incident)
    return (lines + impact_numbers(incident, split, levels) + _server_refusals(split)
            + lead_up(incident, split))


def _server_refusals(split: dict[str | None, list[SampleRollup]]) -> list[str]:
    """What each server's own log counted as refused connections, and whom it refused most."""
    lines: list[str] = []
    for name, rollups in split.items():
        refusing = [r for r in rollups if r.log_refused]
        if not refusing:
            continue
        total = sum(r.log_refused or 0 for r in refusing)
        who: dict[tuple[str, str], int] = {}
        for rollup in refusing:
            for figure in rollup.log_refused_top:
                key = (figure.user, figure.client)
                who[key] = who.get(key, 0) + figure.count
        # Names and addresses are recorded text: one_line escapes them for Markdown.
        text = (f"The server{'' if name is None else ' ' + one_line(name)} refused {total:,} "
                f"connection{'s' if total != 1 else ''} between {refusing[0].at:%H:%M} and "
                f"{refusing[-1].end:%H:%M} UTC (counted in its log)")
        if who:
            (user, client), most = max(who.items(), key=lambda kv: kv[1])
            named = RefusedFigure(user, "", client, most).name
            text += f", {most:,} of them for {one_line(named)}"
        lines += ["", text + "."]
    return lines
