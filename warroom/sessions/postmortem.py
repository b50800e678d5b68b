"""The postmortem draft: an Incident rendered as CommonMark.

Pure: the same record gives the same text, with no clock or file reads, so the CLI, the TUI and
the tests agree. What the record lacks becomes a visible ``TODO:`` prompt rather than a guess, and
every piece of recorded text (typed at 3 a.m., pasted from psql, or written by the database) is
escaped so it reads literally and can never add a heading, a list item or a code block.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warroom.formats import (
    format_bytes,
    format_duration,
    format_seconds,
    format_utc,
    lag_text,
    ms,
)
from warroom.sanitize import text_block
from warroom.sessions import servers
from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    RefusedFigure,
    SampleRollup,
    Source,
    TimelineEntry,
)
from warroom.sessions.times import TimeError
from warroom.sessions.toml_codec import scrub_dsn

SECTIONS: tuple[str, ...] = (
    "Issue Summary",
    "Impact",
    "Detection",
    "Timeline",
    "Root Cause and Resolution",
    "Corrective and Preventative Measures",
    "Lessons Learned",
    "Metrics",
)

# The marker a responder (and the golden test) looks for on entries that led the wrong way.
MISLEADING = "**misleading path**"

# Down windows listed one by one; beyond this the list would bury the rest of the section.
MAX_DOWN_WINDOWS = 20


# -- escaping recorded text ----------------------------------------------------------------------

# Everything that can open an inline construct: emphasis, code spans, raw HTML and autolinks,
# links and link definitions, entities (which could smuggle a control character back in).
_INLINE = re.compile(r"_+|[\\`*<\[\]]|&(?=#?[0-9A-Za-z]+;)")
# Line starts that open a block: heading, quote, list, thematic break, setext underline, fence.
_BLOCK_CHAR = frozenset("#>+-=~|")
_ORDERED = re.compile(r"^(\d+)([.)])")


def clean(text: str) -> str:
    """``text`` with newlines normalised and terminal/control characters removed."""
    return text_block(text)


def _inline_sub(match: re.Match[str]) -> str:
    found = match.group()
    if found[0] == "_":
        # snake_case stays readable: an underscore run between letters cannot open emphasis.
        text, start, end = match.string, match.start(), match.end()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if before.isalnum() and after.isalnum():
            return found
        return "\\_" * len(found)
    return "\\" + found


def escape_line(line: str) -> str:
    """One line of recorded text, safe anywhere a line of Markdown text may go."""
    line = _INLINE.sub(_inline_sub, line.strip(" \t"))
    if line and line[0] in _BLOCK_CHAR:
        return "\\" + line
    return _ORDERED.sub(r"\1\\\2", line, count=1)


def _lines(text: str) -> list[str]:
    """Escaped non-blank lines of ``text``."""
    return [escaped for line in clean(text).split("\n") if (escaped := escape_line(line))]


def one_line(text: str) -> str:
    """Recorded text joined onto a single line (titles, names, list item heads)."""
    return " ".join(_lines(text))


def _paragraphs(text: str) -> list[list[str]]:
    """Escaped lines grouped into the paragraphs the writer separated with blank lines."""
    paragraphs: list[list[str]] = [[]]
    for line in clean(text).split("\n"):
        escaped = escape_line(line)
        if escaped:
            paragraphs[-1].append(escaped)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _prose(text: str, todo: str) -> list[str]:
    """Paragraphs of recorded text, or the TODO prompt when there is none."""
    paragraphs = _paragraphs(text)
    if not paragraphs:
        return [todo]
    out: list[str] = []
    for paragraph in paragraphs:
        if out:
            out.append("")
        out.extend(paragraph)
    return out


def _first_paragraph(text: str) -> str:
    paragraphs = _paragraphs(text)
    return " ".join(paragraphs[0]) if paragraphs else ""


def _item(head: str, text: str) -> list[str]:
    """A list item: ``head`` then the text, continuation lines kept inside the item."""
    lines = _lines(text) or ["(no text)"]
    first, *rest = lines
    return [f"- {head}{first}", *(f"  {line}" for line in rest)]


def _paragraph(head: str, text: str) -> list[str]:
    """``head`` then the text as one paragraph (escaped lines cannot leave it)."""
    lines = _lines(text) or ["(no text)"]
    return [head + lines[0], *lines[1:]]


# -- times ---------------------------------------------------------------------------------------


def _zone(tz_name: str) -> tzinfo | None:
    """The reader's zone for local equivalents; None for UTC, where there is nothing to add."""
    if tz_name.upper() in ("UTC", "Z", "ETC/UTC"):
        return None
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = "use an IANA name like Europe/Paris"
        raise TimeError(f"unknown time zone {tz_name!r} ({hint})") from None


def _stamp(value: datetime) -> str:
    """UTC stamp; seconds only when they are not zero, so durations add up on the page."""
    return format_utc(value, seconds=bool(value.second or value.microsecond))


def _at(value: datetime, zone: tzinfo | None, note: str) -> str:
    """A UTC stamp with a bracketed note and, when asked for, the reader's local time."""
    notes = [note] if note else []
    if zone is not None:
        local = value.astimezone(zone)
        notes.append(f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip() + " local")
    return _stamp(value) + (f" ({'; '.join(notes)})" if notes else "")


def _span(start: datetime, end: datetime) -> str:
    """``2026-11-24 10:05:00 to 10:07:30 UTC``, with the end date only when it differs."""
    tail = f"{end:%H:%M:%S}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M:%S}"
    return f"{start:%Y-%m-%d %H:%M:%S} to {tail} UTC"


def _since_start(incident: Incident, value: datetime | None) -> str:
    return format_duration(value - incident.started_at) if value is not None else ""


# -- sections ------------------------------------------------------------------------------------

_RESOLVE_HINT = "`warroom status resolved --at TIME`"


def _heading_text(text: str) -> str:
    """``text`` safe as heading content: a trailing "#" run would be eaten as a closing sequence."""
    if text.endswith("#"):
        body = text[:-1]
        backslashes = len(body) - len(body.rstrip("\\"))
        if backslashes % 2 == 0:  # the final "#" is not escaped yet
            return body + "\\#"
    return text


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


def _impact(incident: Incident) -> list[str]:
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
    return lines + _server_refusals(incident)


def _server_refusals(incident: Incident) -> list[str]:
    """What each server's own log counted as refused connections, and whom it refused most."""
    lines: list[str] = []
    for name, rollups in servers.by_server(incident).items():
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


def _key_time(incident: Incident, label: str, done: str, field: str, todo: str) -> str:
    value: datetime | None = getattr(incident, field)
    if value is None:
        return f"- **Time to {label}:** not recorded. TODO: {todo}"
    return f"- **Time to {label}:** {_since_start(incident, value)} ({done} {_stamp(value)})"


def _detection(incident: Incident, entries: list[TimelineEntry]) -> list[str]:
    lines = [
        f"Measured from impact start, {_stamp(incident.started_at)}.",
        "",
        _key_time(incident, "detect", "detected", "detected_at",
                  "when did a person or an alert first notice? (`warroom note --kind detection "
                  "--at TIME ...`)"),
        _key_time(incident, "identify", "identified", "identified_at",
                  "when was the cause known? (`warroom status identified --at TIME`)"),
        _key_time(incident, "mitigate", "mitigated", "mitigated_at",
                  "when did impact stop? (`warroom status monitoring --at TIME`)"),
    ]
    if incident.resolved_at is None:
        lines.append(f"- **Time to resolve:** not yet resolved. TODO: {_RESOLVE_HINT} when over")
    else:
        lines.append(_key_time(incident, "resolve", "resolved", "resolved_at", ""))
    first = next((e for e in entries if e.kind is Kind.DETECTION), None)
    first = first or next((e for e in entries if e.kind is Kind.ALERT), None)
    lines.append("")
    if first is None:
        lines.append("TODO: say how the incident was noticed (alert, customer report, a "
                     "colleague) and whether monitoring should have caught it sooner.")
    else:
        lines += _paragraph(f"How it was noticed ({_stamp(first.at)}, {first.kind.value}): ",
                            first.text)
    return lines


def _timeline(entries: list[TimelineEntry]) -> list[str]:
    if not entries:
        return ["TODO: no timeline entries were recorded; rebuild the timeline from chat logs "
                "and alerts (`warroom note --at TIME --kind KIND TEXT`)."]
    lines = ["All times are UTC."]
    lines.append("")
    shown: date | None = None
    # Seconds only where they tell entries of one minute apart.
    seconds_in: dict[datetime, set[int]] = {}
    for e in entries:
        seconds_in.setdefault(e.at.replace(second=0, microsecond=0), set()).add(e.at.second)
    for entry in entries:
        day = entry.at.date()
        crowded = len(seconds_in[entry.at.replace(second=0, microsecond=0)]) > 1
        clock = f"{entry.at:%H:%M:%S}" if crowded else f"{entry.at:%H:%M}"
        when = clock if day == shown else f"{entry.at:%Y-%m-%d} {clock}"
        shown = day
        parts = [f"**{when}**", MISLEADING if entry.kind is Kind.MISLEADING else entry.kind.value]
        who = one_line(entry.author) or ("warroom" if entry.source is Source.AUTO else "")
        if who:
            parts.append(who)
        lines += _item(" · ".join(parts) + " — ", entry.text)
    return lines


def _root_cause(incident: Incident, entries: list[TimelineEntry]) -> list[str]:
    lines = ["### Root cause", ""]
    lines += _prose(incident.root_cause,
                    "TODO: describe the root cause: why it happened, not only what broke "
                    "(`warroom` field root_cause)")
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


def _action_item(item: ActionItem) -> list[str]:
    meta = [item.kind.value]
    owner = one_line(item.owner)
    if owner:
        meta.append(f"owner: {owner}")
    elif not item.done:
        meta.append("TODO: assign an owner")
    if item.due is not None:
        meta.append(f"due {item.due.isoformat()}")
    elif not item.done:
        meta.append("TODO: set a due date")
    box = "[x]" if item.done else "[ ]"
    text = one_line(item.text) or "TODO: describe this action item"
    return [f"- {box} {text} — {' · '.join(meta)}"]


def _measures(incident: Incident) -> list[str]:
    if not incident.action_items:
        return ["TODO: list what will stop this happening again, or catch it sooner: each item "
                "with an owner, a kind (prevent, mitigate, detect, process) and a due date "
                "(`warroom` action items)."]
    lines: list[str] = []
    for item in incident.action_items:
        lines += _action_item(item)
    return lines


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


def _peak(
    samples: Iterable[SampleRollup], value: Callable[[SampleRollup], float | None]
) -> tuple[float, SampleRollup] | None:
    best: tuple[float, SampleRollup] | None = None
    for sample in samples:
        found = value(sample)
        if found is not None and (best is None or found > best[0]):
            best = (found, sample)
    return best


def _worst_query(sample: SampleRollup) -> float | None:
    found = [v for v in (sample.query_max_ms, sample.query_p95_ms) if v is not None]
    return max(found) if found else None


def down_windows(samples: list[SampleRollup]) -> list[tuple[datetime, datetime]]:
    """Consecutive ``down`` rollups merged into (start, end) ranges.

    ``at`` is the window start. Two down rollups merge only when nothing else lies between them
    and no time is missing: a gap in sampling is not claimed as downtime.
    """
    return _runs(samples, lambda s: s.status == "down")


def _runs(
    samples: list[SampleRollup], inside: Callable[[SampleRollup], bool]
) -> list[tuple[datetime, datetime]]:
    """Consecutive rollups for which ``inside`` holds, merged as ``down_windows`` merges."""
    windows: list[tuple[datetime, datetime]] = []
    open_end: datetime | None = None
    for sample in sorted(samples, key=lambda s: s.at):
        if not inside(sample):
            open_end = None
            continue
        start = sample.at
        end = start + timedelta(seconds=max(sample.seconds, 0.0))
        slack = timedelta(seconds=max(sample.seconds, 1.0) / 2)
        if open_end is not None and start <= open_end + slack:
            open_end = max(open_end, end)
            windows[-1] = (windows[-1][0], open_end)
        else:
            open_end = end
            windows.append((start, end))
    return windows


CHART_POINTS = 48  # a Mermaid chart stays readable on a page


def _series(samples: list[SampleRollup], value: Callable[[SampleRollup], float | None],
            buckets: list[list[SampleRollup]]) -> list[float]:
    out: list[float] = []
    for bucket in buckets:
        found = [v for v in (value(s) for s in bucket) if v is not None]
        # A window with no figure (the server was down) charts as 0: Mermaid has no gaps.
        out.append(round(max(found), 1) if found else 0.0)
    return out


def _mermaid(samples: list[SampleRollup]) -> list[str]:
    """Text charts (Mermaid ``xychart-beta``): GitHub and GitLab draw them in the draft."""
    size = max(1, -(-len(samples) // CHART_POINTS))
    buckets = [samples[i : i + size] for i in range(0, len(samples), size)]
    labels = ", ".join(f'"{b[0].at:%H:%M}"' for b in buckets)
    conns = _series(samples, lambda s: s.conn_max, buckets)
    usable = _series(samples, lambda s: s.usable_slots, buckets)
    p95 = _series(samples, lambda s: s.query_p95_ms, buckets)
    top = max([*conns, *usable, 1.0])
    lines = ["", "Connections (peak per window) against usable slots:", "", "```mermaid",
             "xychart-beta", '    title "Connections against usable slots"',
             f"    x-axis [{labels}]", f'    y-axis "connections" 0 --> {int(top * 1.1) + 1}',
             f"    line [{', '.join(f'{v:g}' for v in conns)}]",
             f"    line [{', '.join(f'{v:g}' for v in usable)}]", "```"]
    if any(p95):
        lines += ["", "Query round trip p95 (ms):", "", "```mermaid", "xychart-beta",
                  '    title "Query round trip p95 (ms)"', f"    x-axis [{labels}]",
                  f'    y-axis "ms" 0 --> {int(max(p95) * 1.1) + 1}',
                  f"    line [{', '.join(f'{v:g}' for v in p95)}]", "```"]
    return lines


def _pictures(pictures: Sequence[tuple[str, str]], first: str | None = None) -> list[str]:
    intro = "The dashboard at those moments (SVG, rendered from the record):"
    if first is not None:
        # The replay that draws them shows one server, the first watched.
        intro = (f"The dashboard at the peaks of the first server, {one_line(first)} "
                 "(SVG, rendered from the record):")
    lines = ["", intro, ""]
    for caption, name in pictures:
        lines.append(f"- [{escape_line(caption)}]({quote(name)})")
    return lines


def _metrics(
    incident: Incident, pictures: Sequence[tuple[str, str]] | None = None
) -> list[str]:
    split = servers.by_server(incident)
    if servers.several(split):
        lines = _servers_metrics(split)
        if pictures:
            lines += _pictures(pictures, servers.label(next(iter(split))))
        return lines
    lines = _figures(incident)
    samples = sorted(incident.samples, key=lambda s: s.at)
    if samples:
        lines += _mermaid(samples)
    if pictures:
        lines += _pictures(pictures)
    return lines


def _figures(incident: Incident) -> list[str]:
    samples = sorted(incident.samples, key=lambda s: s.at)
    if not samples:
        return ["TODO: no samples were recorded for this incident; add peak connections against "
                "max_connections, query latency and any downtime from your monitoring."]
    last = samples[-1]
    lines = [f"From {len(samples):,} sample windows recorded by warroom, "
             f"{_span(samples[0].at, last.at + timedelta(seconds=last.seconds))}.", ""]
    return lines + _window_figures(samples, _peak_against_usable)


def _peak_against_usable(samples: list[SampleRollup]) -> str:
    """Peak connections against the slots applications may use (max_connections when older),
    the one peak the dashboard, the page and the draft all show. Rounded down: 199 of 200
    must not read as 100%."""
    peak = _peak(samples, lambda s: s.conn_max)
    if peak is None:
        return "- **Peak connections:** not measured (no window had a connection count)"
    count, at = int(peak[0]), peak[1]
    if at.usable is not None and at.usable > 0:
        limit = f"; max_connections {at.max_connections}" if at.max_connections else ""
        share = f" of {at.usable} usable slots ({count * 100 // at.usable}%{limit})"
    elif at.max_connections:
        share = f" of max_connections {at.max_connections} ({count * 100 // at.max_connections}%)"
    else:
        share = " (max_connections not recorded)"
    return f"- **Peak connections:** {count}{share} at {format_utc(at.at)}"


def _window_figures(
    samples: list[SampleRollup], connections: Callable[[list[SampleRollup]], str],
    p95: bool = False,
) -> list[str]:
    """Peaks, refusals and down windows of one server's rollups (time order); ``p95`` adds
    the worst window's p95 beside the worst round trip."""
    lines = [connections(samples)]
    worst = _peak(samples, _worst_query)
    if worst is None:
        lines.append("- **Peak query latency:** not measured")
    else:
        lines.append(f"- **Peak query latency:** {ms(worst[0], 'draft')} at "
                     f"{format_utc(worst[1].at)}")
    worst_p95 = _peak(samples, lambda s: s.query_p95_ms) if p95 else None
    if worst_p95 is not None:
        lines.append(f"- **Peak query p95:** {ms(worst_p95[0], 'draft')} at "
                     f"{format_utc(worst_p95[1].at)}")
    connect = _peak(samples, lambda s: s.connect_max_ms)
    if connect is not None:
        lines.append(f"- **Slowest new connection:** {ms(connect[0], 'draft')} at "
                     f"{format_utc(connect[1].at)}")

    refusing = [s for s in samples if s.refused]
    if refusing:
        total = sum(s.refused for s in refusing)
        lines.append(f"- **Connect refusals:** {total} in total, first at "
                     f"{format_utc(refusing[0].at)}, last at {format_utc(refusing[-1].at)}")
    else:
        lines.append("- **Connect refusals:** none")

    partial = sum(1 for s in samples if s.status == "partial")
    if partial:
        lines.append(f"- **Windows with some failed samples:** {partial}")

    windows = down_windows(samples)
    if not windows:
        lines.append("- **Down windows:** none: the database answered in every sampled window")
        return lines
    lines += _stretches("Down windows", windows)
    return lines


def _stretches(
    what: str, windows: list[tuple[datetime, datetime]], unit: str | None = None
) -> list[str]:
    """``- **what:** 2, 1m in total`` (with a ``unit``: ``1m in 2 stretches``), then the
    stretches one by one (at most MAX_DOWN_WINDOWS)."""
    total = sum((end - start for start, end in windows), timedelta())
    if unit is None:
        head = f"{len(windows)}, {format_duration(total)} in total"
    else:
        units = unit if len(windows) == 1 else f"{unit}es" if unit.endswith("h") else f"{unit}s"
        head = f"{format_duration(total)} in {len(windows)} {units}"
    lines = [f"- **{what}:** {head}"]
    for start, end in windows[:MAX_DOWN_WINDOWS]:
        lines.append(f"  - {_span(start, end)} ({format_duration(end - start)})")
    if len(windows) > MAX_DOWN_WINDOWS:
        lines.append(f"  - and {len(windows) - MAX_DOWN_WINDOWS} more")
    return lines


# -- several servers (issue 12) ------------------------------------------------------------------


def _cell(text: str) -> str:
    """Recorded text as one GFM table cell: inline escapes, and no "|" that could split it.

    A pipe becomes an entity after escaping, so the entity itself is never escaped away.
    """
    pieces = " ".join(clean(text).split()).split("|")
    return "&#124;".join(_INLINE.sub(_inline_sub, piece) for piece in pieces) or "—"


# Mermaid titles are quoted strings with their own syntax; a server name keeps only characters
# that mean nothing to it (the name is written out in full, escaped, in the heading above).
_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._:/@+\-]")


def _mermaid_name(name: str) -> str:
    return _MERMAID_UNSAFE.sub("?", " ".join(clean(name).split()))[:40] or "?"


def _role_line(rollups: list[SampleRollup]) -> str:
    roles = servers.roles_seen(rollups)
    if not roles:
        return "- **Role:** not recorded"
    text = servers.roles_text(roles)
    if len(roles) > 1:
        since = "; ".join(f"{role} from {format_utc(at)}" for role, at in roles[1:])
        text += f" ({since})"
    return f"- **Role:** {text}"


def _lag_line(what: str, rollups: list[SampleRollup]) -> list[str]:
    in_bytes, in_seconds = servers.worst_lag(rollups)
    if in_bytes is None and in_seconds is None:
        return []
    if (in_bytes is not None and in_bytes is in_seconds and in_bytes.lag_bytes is not None
            and in_bytes.lag_s is not None):
        # Both worst in the same window: one time for both figures.
        text = (f"{format_bytes(in_bytes.lag_bytes)} and "
                f"{format_seconds(in_bytes.lag_s)} behind at {format_utc(in_bytes.at)}")
    else:
        parts = []
        if in_bytes is not None and in_bytes.lag_bytes is not None:
            parts.append(f"{format_bytes(in_bytes.lag_bytes)} behind at "
                         f"{format_utc(in_bytes.at)}")
        if in_seconds is not None and in_seconds.lag_s is not None:
            parts.append(f"{format_seconds(in_seconds.lag_s)} behind at "
                         f"{format_utc(in_seconds.at)}")
        text = "; ".join(parts)
    return [f"- **{what}:** {text}"]


def _replication_lines(rollups: list[SampleRollup]) -> list[str]:
    as_replica = [r for r in rollups if r.role == "replica"]
    # On a primary the rollup's lag is its worst standby's, so it is named as such.
    lines = _lag_line("Worst replication lag", as_replica)
    lines += _lag_line("Worst standby lag", [r for r in rollups if r.role == "primary"])
    if as_replica:
        paused = _runs(rollups, lambda r: r.repl_state == "paused")
        if paused:
            lines += _stretches("Replay paused", paused, "stretch")
        elif any(r.repl_state for r in as_replica):
            lines.append("- **Replay paused:** no window recorded replay paused")
        cut = _runs(rollups, lambda r: r.repl_state == "disconnected")
        if cut:
            lines += _stretches("WAL receiver disconnected", cut, "stretch")
    return lines


def _worst_lag_cell(rollups: list[SampleRollup]) -> str:
    own = [r for r in rollups if r.role == "replica"]
    chosen = own or [r for r in rollups if r.role == "primary"]
    in_bytes, in_seconds = servers.worst_lag(chosen)
    text = lag_text(in_bytes.lag_bytes if in_bytes else None,
                            in_seconds.lag_s if in_seconds else None)
    if not text:
        return "—"
    return text if own else f"{text} (worst standby)"


def _servers_table(split: dict[str | None, list[SampleRollup]]) -> list[str]:
    lines = ["| Server | Role | Down | Worst replication lag |", "| --- | --- | --- | --- |"]
    for name, rollups in split.items():
        windows = down_windows(rollups)
        down = sum((end - start for start, end in windows), timedelta())
        shown = format_duration(down) if windows else "never"
        lines.append(f"| {_cell(servers.label(name))} | "
                     f"{servers.roles_text(servers.roles_seen(rollups))} | {shown} | "
                     f"{_worst_lag_cell(rollups)} |")
    return lines


def _buckets(everything: list[SampleRollup]) -> list[datetime]:
    """Bucket starts shared by every server's charts, so their x axes line up."""
    starts = sorted({r.at for r in everything})
    size = max(1, -(-len(starts) // CHART_POINTS))
    return starts[::size]


def _bucketed(rollups: list[SampleRollup], starts: list[datetime]) -> list[list[SampleRollup]]:
    out: list[list[SampleRollup]] = [[] for _ in starts]
    for rollup in rollups:
        index = bisect.bisect_right(starts, rollup.at) - 1
        if index >= 0:
            out[index].append(rollup)
    return out


def _xychart(title: str, labels: str, axis: str, series: list[list[float]]) -> list[str]:
    top = max([v for line in series for v in line] + [1.0])
    return ["```mermaid", "xychart-beta", f'    title "{title}"', f"    x-axis [{labels}]",
            f'    y-axis "{axis}" 0 --> {int(top * 1.1) + 1}',
            *(f"    line [{', '.join(f'{v:g}' for v in line)}]" for line in series), "```"]


def _server_charts(
    name: str, rollups: list[SampleRollup], starts: list[datetime]
) -> list[str]:
    buckets = _bucketed(rollups, starts)
    shown = [f"{at:%H:%M}" for at in starts]
    if len(set(shown)) < len(shown):  # buckets under a minute: the seconds tell them apart
        shown = [f"{at:%H:%M:%S}" for at in starts]
    labels = ", ".join(f'"{text}"' for text in shown)
    title = _mermaid_name(name)
    conns = _series(rollups, lambda s: s.conn_max, buckets)
    usable = _series(rollups, lambda s: s.usable_slots, buckets)
    lines = ["", "Connections (peak per window) against usable slots:", "",
             *_xychart(f"{title}: connections against usable slots", labels, "connections",
                       [conns, usable])]
    p95 = _series(rollups, lambda s: s.query_p95_ms, buckets)
    if any(p95):
        lines += ["", "Query round trip p95 (ms):", "",
                  *_xychart(f"{title}: query round trip p95 (ms)", labels, "ms", [p95])]
    # Lag is charted where it is the server's own (replica windows): a primary's is its
    # standbys', charted under them already. A line flat at 0 MB says nothing, so none.
    lag = _series(rollups, lambda s: s.lag_bytes / 2**20
                  if s.lag_bytes is not None and s.role == "replica" else None, buckets)
    if any(lag):
        lines += ["", "Replication lag (MB, worst per window):", "",
                  *_xychart(f"{title}: replication lag (MB)", labels, "MB", [lag])]
    return lines


def _servers_metrics(split: dict[str | None, list[SampleRollup]]) -> list[str]:
    everything = sorted((r for rollups in split.values() for r in rollups), key=lambda s: s.at)
    last = max(everything, key=lambda s: s.end)
    lines = [f"From {len(everything):,} sample windows of {len(split)} servers recorded by "
             f"warroom, {_span(everything[0].at, last.end)}.", ""]
    lines += _servers_table(split)
    starts = _buckets(everything)
    for name, rollups in split.items():
        shown = servers.label(name)
        lines += ["", f"### {_heading_text(one_line(shown)) or '(no name)'}", "",
                  _role_line(rollups)]
        lines += _window_figures(rollups, _peak_against_usable, p95=True)
        lines += _replication_lines(rollups)
        lines += _server_charts(shown, rollups, starts)
    return lines


# -- the draft -----------------------------------------------------------------------------------


def render(
    incident: Incident,
    tz_name: str = "UTC",
    pictures: Sequence[tuple[str, str]] | None = None,
) -> str:
    """The postmortem draft for ``incident`` as CommonMark.

    Times are UTC throughout; ``tz_name`` (an IANA zone) adds local equivalents to the start and
    end in the Issue Summary. An unknown zone raises TimeError. ``pictures`` are (caption, file
    name beside the draft) pairs linked from ## Metrics.
    """
    zone = _zone(tz_name)
    entries = incident.entries_in_order()
    sections = (
        _summary(incident, zone),
        _impact(incident),
        _detection(incident, entries),
        _timeline(entries),
        _root_cause(incident, entries),
        _measures(incident),
        _lessons(incident, entries),
        _metrics(incident, pictures),
    )
    blocks = ["\n".join(_title(incident))]
    for heading, body in zip(SECTIONS, sections, strict=True):
        blocks.append(f"## {heading}\n\n" + "\n".join(body))
    return "\n\n".join(blocks) + "\n"


__all__ = ["MISLEADING", "SECTIONS", "clean", "down_windows", "escape_line", "one_line", "render"]
