"""The Slack incoming-webhook body: ``text`` (the fallback every client shows) and ``blocks``.

Text from the database and from people is data, never markup: ``&``, ``<`` and ``>`` are
escaped as Slack asks, so an entry cannot ping ``<!channel>`` or forge a link. A burst folded
into one message lists its events, within Slack's limits (3,000 characters a section).
"""

from __future__ import annotations

from typing import Any

from warroom.notify.events import Event

SECTION_MAX = 3000
LINE_MAX = 500  # one event's line: a long note does not crowd out the rest
_MARK = {"alert.raised": "🔴", "alert.cleared": "🟢", "finding.raised": "🔎",
         "incident.opened": "🚨", "incident.resolved": "✅"}  # fmt: skip


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def line(ev: Event) -> str:
    mark = _MARK.get(str(ev.get("type")), "•")
    severity = f" {str(ev['severity']).upper()}" if ev.get("severity") else ""
    text = " ".join(str(ev.get("text", "")).split())
    extra = f" (draft: {ev['draft']})" if ev.get("draft") else ""
    return escape(f"{mark}{severity} {ev.get('at', '')[11:19]}Z {text}{extra}")


def body(key: str, events: list[Event]) -> dict[str, Any]:
    incident = next((ev["incident"] for ev in events if ev.get("incident")), None)
    title = escape(f"[warroom] {incident['title']}" if incident else "[warroom]")
    lines = [line(ev) for ev in events]
    text = f"{title}: {lines[0][:LINE_MAX]}" if len(lines) == 1 else f"{title}: {len(lines)} events"
    shown: list[str] = []
    size = 0
    for number, item in enumerate(lines):
        item = item if len(item) <= LINE_MAX else item[: LINE_MAX - 1] + "…"
        if size + len(item) + 1 > SECTION_MAX - 200:
            shown.append(f"… and {len(lines) - number} more")
            break
        shown.append(item)
        size += len(item) + 1
    section = f"*{title}*\n" + "\n".join(shown)
    context = f"incident {incident['id']} · {incident['status']}" if incident else "warroom"
    return {
        "text": text[:SECTION_MAX],
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": section}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(context)}]},
        ],
        "idempotency_key": key,  # Slack ignores fields it does not know
    }
