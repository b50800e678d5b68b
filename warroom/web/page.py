"""The page as HTML, rendered on the server: complete and printable with JavaScript off.

Every value from the record goes through ``html.escape`` (quotes too: some land in attributes);
the charts are SVG built from numbers only. No inline script or style: the CSP forbids both, and
the live updates come from /static/app.js, which rebuilds the same elements by id.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from warroom.formats import format_utc
from warroom.web.view import KINDS, State, fold, iso, server_state


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "—"
    # The same rule as the browser script's num(), so a live update never reformats a figure.
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:.0f}" if value >= 100 else f"{value:.1f}"
    else:
        text = str(int(value))
    return f"{text}{unit}"


def _prose(text: str, empty: str) -> str:
    if not text:
        return f'<span class="none">{_e(empty)}</span>'
    return _e(text)


def _entry(entry: dict[str, Any]) -> str:
    author = entry["author"]
    return (
        f'<li class="entry kind-{_e(entry["kind"])}" data-kind="{_e(entry["kind"])}">'
        f'<span class="when"><time datetime="{_e(entry["at"])}">{_e(entry["time"])}</time> '
        f'<span class="offset">{_e(entry["offset"])}</span></span> '
        f'<span class="kind">{_e(entry["kind"])}</span> '
        + (f'<span class="author" title="{_e(author)}">{_e(author)}</span> ' if author else "")
        + f'<span class="text">{_e(entry["text"])}</span></li>'
    )


def _group(entries: list[dict[str, Any]]) -> str:
    newest, oldest = entries[0], entries[-1]
    inner = "".join(_entry(entry) for entry in entries)
    return (
        '<li class="fold"><details><summary>'
        f'{len(entries)} alerts, {_e(oldest["time"])} to {_e(newest["time"])}'
        f'</summary><ol class="folded">{inner}</ol></details></li>'
    )


def timeline_items(entries: list[dict[str, Any]]) -> str:
    items = fold(entries)
    if not items:
        return '<li class="none">no entries</li>'
    return "".join(_group(item) if isinstance(item, list) else _entry(item) for item in items)


def _filter(kind: str | None) -> str:
    options = ['<option value="">all kinds</option>'] + [
        f'<option value="{k}"{" selected" if k == kind else ""}>{k}</option>' for k in KINDS
    ]
    return (
        '<form id="filter" method="get" action="/">'
        '<label for="kind">Show</label> '
        f'<select id="kind" name="kind">{"".join(options)}</select> '
        '<button type="submit" id="filter-go">Filter</button></form>'
    )


def _times(header: dict[str, Any]) -> str:
    rows = "".join(
        f'<dt>{_e(t["label"])}</dt><dd id="time-{_e(t["name"])}">{_e(t["text"])}</dd>'
        for t in header["times"]
    )
    return f'<dl class="times" id="times">{rows}</dl>'


def _durations(header: dict[str, Any]) -> str:
    ongoing = ' class="ongoing"'
    rows = "".join(
        f'<dt>{_e(d["label"])}</dt><dd id="dur-{_e(d["name"])}"'
        f'{ongoing if d["ongoing"] else ""}>{_e(d["text"])}</dd>'
        for d in header["durations"]
    )
    return f'<dl class="durations" id="durations">{rows}</dl>'


def _apps(apps: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><span class="app">{_e(a["name"])}</span> '
        f'<span class="count">{_e(_num(a["count"]))}</span></li>'
        for a in apps
    )
    return (
        '<div class="apps-row"><span class="label">Top applications</span> '
        f'<ol class="apps" id="apps">{items}</ol></div>'
    )


def _server_refused(count: int | None) -> str:
    """The server's own count beside the probe's, when its log was read."""
    if count is None:
        return ""
    return (f'<span class="sub" id="fig-server-refused">the server refused {_e(_num(count))} '
            "(all clients, from its log)</span>")


def _holders(groups: list[dict[str, Any]]) -> str:
    """Who held the slots, by application else ``user X``; nothing when not recorded."""
    if not groups:
        return ""
    items = "".join(
        f'<li><span class="app">{_e(g["name"])}</span> '
        f'<span class="count">{_e(_num(g["count"]))}</span>'
        + (f' <span class="client">from {_e(g["client"])}</span>' if g["client"] else "")
        + "</li>"
        for g in groups
    )
    return ('<div class="apps-row"><span class="label">Who holds the slots</span> '
            f'<ol class="apps" id="holders">{items}</ol></div>')


def _figures(figures: dict[str, Any]) -> str:
    c = figures["current"]
    conn = "—" if c["connections"] is None else str(c["connections"])
    slots = "—" if c["usable"] is None else str(c["usable"])
    sat = "" if c["saturation"] is None else f'{c["saturation"]}% of usable slots'
    as_of = "no samples recorded yet"
    if c["as_of"]:
        as_of = f'as of {format_utc(datetime.fromisoformat(c["as_of"]))}'
        if c["status"] and c["status"] != "up":
            as_of += f' (database {c["status"]})'
    charts = figures["charts"]
    return (
        '<section id="figures" class="figures"><h2>Database now</h2>'
        f'<p class="as-of" id="as-of" data-at="{_e(c["as_of"])}">{_e(as_of)}</p>'
        '<div class="cards">'
        '<div class="card"><span class="label">Connections / usable</span>'
        f'<span class="value"><span id="fig-connections">{_e(conn)}</span> / '
        f'<span id="fig-usable">{_e(slots)}</span></span>'
        f'<span class="sub" id="fig-saturation">{_e(sat)}</span></div>'
        '<div class="card"><span class="label">Query p95</span>'
        f'<span class="value" id="fig-p95">{_e(_num(c["p95_ms"], " ms"))}</span>'
        '<span class="sub">round trip of a trivial query</span></div>'
        '<div class="card"><span class="label">Refused, last minute</span>'
        f'<span class="value" id="fig-refused">{_e(_num(c["refused_1m"]))}</span>'
        '<span class="sub">new connections turned away</span>'
        + _server_refused(c.get("server_refused_1m"))
        + "</div></div>"
        + _apps(c["apps"])
        + _holders(c.get("holders") or [])
        + '<div class="charts">'
        '<figure><figcaption>Connections <span class="key conn">used</span> against '
        '<span class="key limit">usable slots</span></figcaption>'
        f'<div class="chart-box" id="chart-connections">{charts["connections"]}</div></figure>'
        '<figure><figcaption>Query latency, p95 (ms)</figcaption>'
        f'<div class="chart-box" id="chart-latency">{charts["latency"]}</div></figure>'
        '<figure><figcaption>Refused connections</figcaption>'
        f'<div class="chart-box" id="chart-refusals">{charts["refusals"]}</div></figure>'
        "</div></section>"
    )


# -- several servers (issue 12) -----------------------------------------------------------------

# The strip's columns; the browser script fills the same cells by class (static/app.js).
STRIP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Server"), ("roles", "Role"), ("conn", "Connections / usable"), ("p95", "Query p95"),
    ("lag", "Replication lag"), ("state", "State"),
)  # fmt: skip
# Small multiples: what each server's row of charts shows, in order.
SERVER_CHARTS: tuple[tuple[str, str], ...] = (
    ("connections", 'Connections <span class="key conn">used</span> against '
                    '<span class="key limit">usable slots</span>'),
    ("latency", "Query latency, p95 (ms)"),
    ("refusals", "Refused connections"),
    ("lag", "Replication lag, MB (on a primary: its worst standby)"),
)  # fmt: skip


def _conn_cell(row: dict[str, Any]) -> str:
    conn = "—" if row["connections"] is None else str(row["connections"])
    slots = "—" if row["usable"] is None else str(row["usable"])
    sat = "" if row["saturation"] is None else f' ({row["saturation"]}%)'
    return f"{conn} / {slots}{sat}"


def _lag_cell(row: dict[str, Any]) -> str:
    lag = row["lag"] or "—"
    return f'{lag} ({row["repl_state"]})' if row["repl_state"] else lag


def _strip_row(row: dict[str, Any], index: int, now: datetime, resolved: bool) -> str:
    until = datetime.fromisoformat(row["until"]) if row["until"] else None
    state = server_state(row["status"], until, now, resolved)
    cells = {
        "name": row["name"], "roles": row["roles"], "conn": _conn_cell(row),
        "p95": _num(row["p95_ms"], " ms"), "lag": _lag_cell(row), "state": state,
    }  # fmt: skip
    tds = "".join(
        f'<td class="{name}"'
        + (f' data-label="{_e(label)}"' if name != "name" else "")
        + f">{_e(cells[name])}</td>"
        for name, label in STRIP_COLUMNS
    )
    return (
        f'<tr class="server state-{_e(state)}" id="server-{index}" '
        f'data-status="{_e(row["status"])}" data-until="{_e(row["until"])}">{tds}</tr>'
    )


def _servers_strip(figures: dict[str, Any], now: datetime, resolved: bool) -> str:
    head = "".join(f'<th scope="col">{_e(label)}</th>' for _, label in STRIP_COLUMNS)
    rows = "".join(_strip_row(row, i, now, resolved) for i, row in enumerate(figures["servers"]))
    as_of = f'as of {format_utc(datetime.fromisoformat(figures["as_of"]))}'
    return (
        '<section id="servers-strip" class="servers-strip"><h2>Servers now</h2>'
        f'<p class="as-of" id="as-of" data-at="{_e(figures["as_of"])}">{_e(as_of)}</p>'
        '<div class="strip-scroll"><table class="servers" id="servers">'
        f'<thead><tr>{head}</tr></thead><tbody id="servers-rows">{rows}</tbody></table></div>'
        "</section>"
    )


def _server_charts(row: dict[str, Any], index: int) -> str:
    figs = "".join(
        f"<figure><figcaption>{caption}</figcaption>"
        f'<div class="chart-box" id="chart-{index}-{name}">{row["charts"][name]}</div></figure>'
        for name, caption in SERVER_CHARTS
    )
    return (
        f'<div class="server-charts" id="server-charts-{index}">'
        f'<h3 class="server-name">{_e(row["name"])}</h3>'
        f'<div class="charts charts-{len(SERVER_CHARTS)}">{figs}</div></div>'
    )


def _multiples(figures: dict[str, Any]) -> str:
    blocks = "".join(_server_charts(row, i) for i, row in enumerate(figures["servers"]))
    return (
        '<section id="figures" class="figures"><h2>Each server</h2>'
        f'<div class="multiples" id="multiples">{blocks}</div></section>'
    )


def render(state: State, now: datetime, kind: str | None = None) -> str:
    h = state.header
    f = state.figures
    several = "servers" in f
    resolved = h["resolved_at"] is not None
    entries = state.timeline["entries"]
    if kind:
        entries = [e for e in entries if e["kind"] == kind]
    problem = h["problem"]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{_e(h["severity"])} {_e(h["status"])}: {_e(h["title"])}</title>'
        '<link rel="stylesheet" href="/static/style.css">'
        '<script src="/static/app.js" defer></script></head>'
        f'<body data-started="{_e(h["started_at"])}" data-resolved="{_e(h["resolved_at"])}" '
        f'data-now="{_e(iso(now))}"'
        + (f' data-servers="{len(f["servers"])}" data-stale-after="{_e(f["stale_after_s"])}"'
           if several else "")
        + ">"
        '<header class="head" id="head"><div class="badges">'
        f'<span id="severity" class="badge sev sev-{_e(h["severity"])}">{_e(h["severity"])}</span>'
        f'<span id="status" class="badge status status-{_e(h["status"])}">{_e(h["status"])}</span>'
        f'<span id="clock" class="clock" title="since impact start">{_e(h["clock"])}</span>'
        '<span id="live" class="live" hidden></span></div>'
        f'<h1 id="title">{_e(h["title"])}</h1>'
        f'<p class="meta">Incident <span id="incident-id">{_e(h["id"])}</span> · '
        f'page rendered {_e(format_utc(now))} · all times UTC · '
        '<a id="history-link" href="/history">incident history</a></p>'
        f'<p id="problem" class="problem"{"" if problem else " hidden"}>{_e(problem)}</p>'
        "</header><main>"
        + (_servers_strip(f, now, resolved) if several else "")
        + '<section class="overview" id="overview"><div class="prose">'
        f'<h2>Summary</h2><p id="summary">{_prose(h["summary"], "no summary yet")}</p>'
        f'<h2>Impact</h2><p id="impact">{_prose(h["impact"], "no impact statement yet")}</p>'
        "</div><div class=\"keytimes\"><h2>Key times</h2>"
        + _times(h) + _durations(h)
        + "</div></section>"
        + (_multiples(f) if several else _figures(f))
        + '<section id="timeline-section" class="timeline"><h2>Timeline '
        '<span class="hint">newest first</span></h2>'
        + _filter(kind)
        + f'<ol id="timeline" class="entries">{timeline_items(entries)}</ol></section>'
        "</main><footer>A read-only view of the incident record, served by warroom. "
        "It updates by itself while this page is open.</footer></body></html>"
    )
