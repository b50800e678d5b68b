"""The Alertmanager webhook body (``version: "4"``), for receivers written against it.

Each event is one alert. Alerts and findings are named by their rule (``alertname``) with their
``severity``; a clear is ``resolved`` with ``endsAt`` set, so a receiver pairs it with its raise
by labels. Incident events are ``warroom_incident_*`` alerts; resolution resolves them. Other
events (status, severity, notes) fire with no end, as Alertmanager sends an active alert.
"""

from __future__ import annotations

import hashlib
from typing import Any

from warroom.notify.events import Event

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "no end yet"
_ENDS = ("alert.cleared", "incident.resolved")


def alert(ev: Event) -> dict[str, Any]:
    kind = str(ev["type"])
    incident = ev.get("incident") or {}
    if kind.startswith(("alert.", "finding.")):
        name = str(ev.get("rule") or kind)
    elif kind in ("incident.opened", "incident.resolved"):
        name = "warroom_incident"
    else:
        name = "warroom_" + kind.replace(".", "_")
    labels = {"alertname": name}  # identity: a clear carries the labels of its raise
    if ev.get("severity") or incident.get("severity"):
        labels["severity"] = str(ev.get("severity") or incident.get("severity"))
    if incident:
        labels["incident"] = str(incident["id"])
    annotations = {"summary": str(ev.get("text", "")), "warroom_event": kind}
    if incident:
        annotations["incident_title"] = str(incident.get("title", ""))
    if ev.get("draft"):
        annotations["draft"] = str(ev["draft"])
    ended = kind in _ENDS
    fingerprint = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
    return {
        "status": "resolved" if ended else "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": ev["at"],
        "endsAt": ev["at"] if ended else ZERO_TIME,
        "generatorURL": "",
        "fingerprint": fingerprint,
    }


def _common(dicts: list[dict[str, str]]) -> dict[str, str]:
    first = dicts[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}


def body(key: str, events: list[Event], receiver: str) -> dict[str, Any]:
    alerts = [alert(ev) for ev in events]
    incident = next((ev["incident"] for ev in events if ev.get("incident")), None)
    group = {"incident": str(incident["id"])} if incident else {}
    return {
        "version": "4",
        "groupKey": f"warroom:{incident['id'] if incident else 'test'}",
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": "",
        "alerts": alerts,
        "idempotency_key": key,
    }
