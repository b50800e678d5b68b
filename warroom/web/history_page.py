"""The history page of `warroom serve` (/history): the incidents of the sessions directory, the
figures `warroom history` prints, and small charts by month. Read-only, like the incident page.

Every value from a record goes through ``_e`` (html.escape, quotes too) as on the incident page;
the charts are SVG built from numbers. The page is built in a worker thread (it reads every
session's header, findings and action items) and kept a few seconds, so viewers reloading at
once read the directory once.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from warroom.formats import format_duration, format_utc
from warroom.sessions.history import History, collect, local
from warroom.sessions.history.figures import MEASURES, Mean
from warroom.web import charts
from warroom.web.page import _e

# How long a built page is served again before the directory is read anew.
KEEP_SECONDS = 5.0
ROWS_SHOWN = 500  # the index lists this many incidents, newest first

_lock = threading.Lock()
_kept: tuple[float, Path | None, str] | None = None


def _mean(mean: Mean) -> str:
    return "—" if mean.value is None else format_duration(mean.value)


def _charts(history: History) -> str:
    months = list(reversed(history.months))  # oldest on the left
    labels = [m.month for m in months]
    drawn = [
        ("incidents", "Incidents by month",
         charts.month_chart("incidents", "incidents by month", labels,
                            [float(m.incidents) for m in months])),
    ]
    for key, label, _ in MEASURES:
        values = [None if m.means[key].value is None else m.means[key].value.total_seconds() / 60
                  for m in months]
        drawn.append((key, f"{label} by month (minutes)",
                      charts.month_chart(key, f"{label} by month in minutes", labels, values)))
    figs = "".join(
        f'<figure><figcaption>{_e(caption)}</figcaption>'
        f'<div class="chart-box" id="history-chart-{_e(key)}">{svg}</div></figure>'
        for key, caption, svg in drawn
    )
    return ('<section id="history-charts"><h2>By month</h2>'
            f'<div class="charts charts-4">{figs}</div></section>')


def _months(history: History) -> str:
    head = "".join(f"<th>{_e(s)}</th>" for s in history.by_severity)
    heads = "".join(f"<th>{_e(label)}</th>" for _, label, _ in MEASURES)
    rows = "".join(
        f'<tr><th scope="row">{_e(m.month)}</th><td>{m.incidents}</td>'
        + "".join(f"<td>{n}</td>" for n in m.by_severity.values())
        + "".join(f"<td>{_e(_mean(m.means[key]))}</td>" for key, _, _ in MEASURES)
        + f"<td>{m.open_follow_ups}</td><td>{m.overdue_follow_ups}</td></tr>"
        for m in history.months
    )
    return (
        '<table id="history-months" class="history"><thead><tr><th>Month</th><th>Incidents</th>'
        f"{head}{heads}<th>Open follow-ups</th><th>Overdue</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _ranked(element_id: str, title: str, found: list[tuple[str, int]], empty: str) -> str:
    items = "".join(f'<li><span class="name">{_e(name)}</span> '
                    f'<span class="count">{n}</span></li>' for name, n in found)
    inner = f"<ol>{items}</ol>" if found else f'<p class="none">{_e(empty)}</p>'
    return f'<div id="{element_id}"><h3>{_e(title)}</h3>{inner}</div>'


def _follow_ups(history: History) -> str:
    items = "".join(
        f'<li><span class="due">due {_e(f"{o.due:%Y-%m-%d}")}</span> '
        f'<span class="owner">{_e(o.owner or "no owner")}</span> '
        f'<span class="text">{_e(o.text)}</span> '
        f'<span class="incident">{_e(o.title)} ({_e(o.incident)})</span></li>'
        for o in history.overdue
    )
    return (
        '<section id="history-follow-ups"><h2>Follow-ups</h2>'
        f'<p id="follow-up-counts">{history.open_follow_ups} open, '
        f"{len(history.overdue)} overdue (due before {_e(f'{history.today:%Y-%m-%d}')}), "
        f"{history.done_follow_ups} done, {history.dropped_follow_ups} won't do</p>"
        + (f'<ol id="overdue" class="overdue">{items}</ol>' if items else "")
        + "</section>"
    )


def _index(history: History) -> str:
    rows = "".join(
        f'<tr class="incident"><td><time datetime="{_e(r.started_at.isoformat())}">'
        f"{_e(format_utc(r.started_at, seconds=False))}</time></td>"
        f'<td><span class="badge sev sev-{_e(r.severity)}">{_e(r.severity)}</span></td>'
        f'<td>{_e(r.status)}</td><td class="title">{_e(r.title)}</td>'
        f'<td>{_e("ongoing" if r.duration is None else format_duration(r.duration))}</td></tr>'
        for r in history.rows[:ROWS_SHOWN]
    )
    more = len(history.rows) - ROWS_SHOWN
    return (
        '<section id="history-index"><h2>Incidents <span class="hint">newest first</span></h2>'
        '<table id="incidents" class="history"><thead><tr><th>Impact start</th><th>Severity'
        "</th><th>Status</th><th>Title</th><th>Duration</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        + (f'<p class="hint">and {more} older (`warroom history --format json` lists all)</p>'
           if more > 0 else "")
        + "</section>"
    )


def render(history: History, now: datetime) -> str:
    """The page for ``history`` as HTML."""
    severities = " · ".join(f"{s} {n}" for s, n in history.by_severity.items())
    means = " · ".join(f"{label} {_mean(history.means[key])}" for key, label, _ in MEASURES)
    problems = "".join(f"<li>{_e(p)}</li>" for p in history.problems)
    body = (
        f'<p id="history-totals">{history.incidents} incidents: {_e(severities)}</p>'
        f'<p id="history-means">{_e(means)}</p>'
        + (_charts(history) + '<section><h2>Months</h2>' + _months(history) + "</section>"
           '<section id="history-recurring" class="recurring"><h2>What comes back</h2>'
           + _ranked("history-findings", "Most frequent findings (incidents)",
                     history.findings, "no findings recorded")
           + _ranked("history-villains", "Named in more than one incident",
                     history.villains, "no application or user named twice")
           + "</section>" + _follow_ups(history) + _index(history)
           if history.incidents else '<p class="none">no incidents in the sessions directory</p>')
        + (f'<section id="history-problems"><h2>Left out</h2><ul>{problems}</ul></section>'
           if problems else "")
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Incident history</title>"
        '<link rel="stylesheet" href="/static/style.css">'
        '<link rel="stylesheet" href="/static/history.css"></head><body>'
        '<header class="head"><h1 id="title">Incident history</h1>'
        f'<p class="meta">page rendered {_e(format_utc(now))} · all times UTC · '
        '<a href="/">the incident</a></p></header>'
        f"<main>{body}</main>"
        "<footer>A read-only index of the incident records in the sessions directory, served "
        "by warroom.</footer></body></html>"
    )


def build(now: datetime, directory: Path | None = None) -> str:
    """The page from the sessions in ``directory`` (default: the sessions directory), or the
    one built less than KEEP_SECONDS ago. Called in a worker thread: it reads files."""
    global _kept
    with _lock:
        kept = _kept
        if kept is not None and kept[1] == directory and time.monotonic() - kept[0] < KEEP_SECONDS:
            return kept[2]
        found, problems = local(directory)
        text = render(collect(found, now.date(), problems), now)
        _kept = (time.monotonic(), directory, text)
        return text
