"""The Slack and Alertmanager bodies as a receiver gets them, checked against their shapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from support.polling import wait_until

from notify.helpers import QUICK, notifier
from notify.receiver import Receiver
from warroom.notify import events

INCIDENT = {"id": "INC-7", "title": "orders <b>DB</b> & co", "severity": "SEV1",
            "status": "investigating", "session": "/x/s.toml"}  # fmt: skip
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _alert(state: str, level: str) -> events.Event:
    ev = SimpleNamespace(at=datetime.now(UTC), rule="saturation",
                         level=SimpleNamespace(value=level), state=SimpleNamespace(value=state),
                         message=f"{state} CRITICAL connections 95% <!channel>")  # fmt: skip
    return events.alert(INCIDENT, ev)


def test_slack_payload_has_the_documented_shape(receiver: Receiver, state: Path) -> None:
    n = notifier(state, {"name": "slack", "url": receiver.base + "/ok", "format": "slack",
                         **QUICK, "min_interval_s": 3.0})  # fmt: skip
    n.publish(_alert("raised", "critical"))
    wait_until(lambda: receiver.requests("/ok"), what="the first message")
    for i in range(60):  # a burst: one message, within Slack's limits
        n.publish(events.note(INCIDENT, datetime.now(UTC), "decision", f"step {i} " + "x" * 80,
                              "ann"))  # fmt: skip
    wait_until(lambda: not n.outbox.waiting(), timeout=15, what="the burst sent")
    messages = [r.body for r in receiver.requests("/ok")]
    assert len(messages) == 2
    for body in messages:
        assert receiver.requests("/ok")[0].headers["Content-Type"].startswith("application/json")
        assert isinstance(body["text"], str) and body["text"]
        assert isinstance(body["blocks"], list) and 0 < len(body["blocks"]) <= 50
        for block in body["blocks"]:
            assert block["type"] in ("section", "context")
            texts = [block["text"]] if block["type"] == "section" else block["elements"]
            for t in texts:
                assert t["type"] == "mrkdwn" and 0 < len(t["text"]) <= 3000
        # Data, never markup: no mention or link can be forged by an entry or a title.
        flat = str(body)
        assert "<!channel>" not in flat and "<b>" not in flat
    first, burst = messages
    assert "&lt;!channel&gt;" in first["text"]
    assert "CRITICAL" in first["text"] and "orders &lt;b&gt;DB&lt;/b&gt; &amp; co" in first["text"]
    assert "60 events" in burst["text"] and "more" in burst["blocks"][0]["text"]["text"]


def test_alertmanager_payload(receiver: Receiver, state: Path) -> None:
    n = notifier(state, {"name": "am", "url": receiver.base + "/ok", "format": "alertmanager",
                         **QUICK})  # fmt: skip
    n.publish(_alert("raised", "critical"))
    wait_until(lambda: receiver.requests("/ok"), what="the raise")
    n.publish(_alert("cleared", "critical"))
    wait_until(lambda: not n.outbox.waiting(), timeout=15, what="the clear")
    raised, cleared = (r.body for r in receiver.requests("/ok"))
    for body, status in ((raised, "firing"), (cleared, "resolved")):
        assert body["version"] == "4" and body["status"] == status
        assert body["receiver"] == "am" and body["groupLabels"] == {"incident": "INC-7"}
        for key in ("groupKey", "truncatedAlerts", "commonLabels", "commonAnnotations",
                    "externalURL"):
            assert key in body
        [alert] = body["alerts"]
        assert alert["status"] == status
        assert alert["labels"]["alertname"] == "saturation"
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["incident"] == "INC-7"
        assert "connections 95%" in alert["annotations"]["summary"]
        assert RFC3339.match(alert["startsAt"]) and RFC3339.match(alert["endsAt"])
    assert raised["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert cleared["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    # The clear names the same alert, so a receiver pairs them.
    assert raised["alerts"][0]["fingerprint"] == cleared["alerts"][0]["fingerprint"]
