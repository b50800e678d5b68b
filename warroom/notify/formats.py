"""One message's body for a destination's ``format``: json (warroom's schema), slack or
alertmanager. A burst folded into one message is one body holding all its events."""

from __future__ import annotations

import json
from typing import Any

from warroom.notify import alertmanager, slack
from warroom.notify.events import SCHEMA, Event


def payload(fmt: str, key: str, events: list[Event], destination: str) -> dict[str, Any]:
    if fmt == "slack":
        return slack.body(key, events)
    if fmt == "alertmanager":
        return alertmanager.body(key, events, destination)
    return {"schema": SCHEMA, "idempotency_key": key, "destination": destination,
            "events": events}  # fmt: skip


def encode(fmt: str, key: str, events: list[Event], destination: str) -> bytes:
    return json.dumps(payload(fmt, key, events, destination), ensure_ascii=False).encode("utf-8")
