"""The outbox and its sender against a real HTTP receiver: down, failing, slow, hanging."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from support.polling import wait_until

from notify.helpers import QUICK, notifier
from notify.receiver import Receiver, unique_events
from warroom.notify import events


def _note(n: int) -> events.Event:
    inc = {"id": "INC-1", "title": "orders DB", "severity": "SEV1", "status": "investigating",
           "session": None}  # fmt: skip
    return events.note(inc, datetime.now(UTC), "decision", f"decision {n}", "tester")


def test_receiver_down_then_up_every_event_once_in_order(receiver: Receiver, state: Path) -> None:
    n = notifier(state, {"name": "hook", "url": receiver.base + "/ok", **QUICK},
                 {"name": "other", "url": receiver.base + "/ok/other", **QUICK})  # fmt: skip
    receiver.down()
    published = []
    for i in range(12):
        ev = _note(i)
        assert n.publish(ev) == 2  # queued (fsynced) for both destinations
        published.append(ev["id"])
    # Down: the sender fails, says so in one line, and keeps everything.
    wait_until(lambda: n.trouble(), what="a failure shown")
    assert "notify " in (n.trouble() or "") and "cannot connect" in (n.trouble() or "")
    assert sum(n.outbox.waiting().values()) == 24
    for i in range(12, 20):  # more fire while it is down
        ev = _note(i)
        n.publish(ev)
        published.append(ev["id"])
    receiver.up()
    wait_until(lambda: not n.outbox.waiting(), timeout=20, what="the outbox drained")
    for prefix in ("/ok/other", "/ok"):
        got = [e["id"] for e in unique_events([r for r in receiver.requests(prefix)
                                               if prefix != "/ok" or r.path == "/ok"])]
        assert got == published, prefix  # each once, in the order they were published
    wait_until(lambda: n.trouble() is None, what="the failure line gone")


def test_500_then_success_keeps_the_order(receiver: Receiver, state: Path) -> None:
    n = notifier(state, {"name": "bad", "url": receiver.base + "/500", **QUICK})
    ids = [_note(i) for i in range(5)]
    for ev in ids:
        n.publish(ev)
    wait_until(lambda: len(receiver.requests("/500")) >= 3, what="retries")
    assert n.trouble() is not None and "HTTP 500" in n.trouble()  # type: ignore[operator]
    # The same frozen message each time: one key, the oldest events first.
    keys = {r.headers["Idempotency-Key"] for r in receiver.requests("/500")}
    assert len(keys) == 1
    assert n.outbox.waiting() == {"bad": 5}


def test_slow_answer_is_resent_under_the_same_key(receiver: Receiver, state: Path) -> None:
    # The receiver answers after 1.5 s; the sender gives up after 0.5 s and retries: at least
    # once means duplicates, and the key lets the receiver drop them.
    n = notifier(state, {"name": "slow", "url": receiver.base + "/slow", **QUICK,
                         "timeout_s": 0.5})  # fmt: skip
    ev = _note(1)
    n.publish(ev)
    wait_until(lambda: len(receiver.requests("/slow")) >= 2, what="a resend")
    assert "timed out" in (n.trouble() or "")
    keys = [r.headers["Idempotency-Key"] for r in receiver.requests("/slow")]
    assert len(set(keys)) == 1
    assert [e["id"] for e in unique_events(receiver.requests("/slow"))] == [ev["id"]]


def test_hanging_destination_never_blocks_the_publisher(receiver: Receiver, state: Path) -> None:
    n = notifier(state, {"name": "hang", "url": receiver.base + "/hang", **QUICK},
                 {"name": "fine", "url": receiver.base + "/ok", **QUICK})  # fmt: skip
    first = _note(0)
    n.publish(first)
    wait_until(lambda: receiver.requests("/hang"), what="the hanging request")
    # While one destination hangs, events still queue and the other destination gets them.
    later = [_note(i) for i in range(1, 4)]
    for ev in later:
        n.publish(ev)
    want = [e["id"] for e in [first, *later]]
    wait_until(lambda: [e["id"] for e in unique_events(receiver.requests("/ok"))] == want,
               what="the healthy destination served")  # fmt: skip
    wait_until(lambda: "timed out" in (n.trouble() or ""), what="the hang reported")


def test_a_burst_folds_into_few_messages(receiver: Receiver, state: Path) -> None:
    n = notifier(state, {"name": "rate", "url": receiver.base + "/ok", **QUICK,
                         "min_interval_s": 3.0})  # fmt: skip
    burst = [_note(i) for i in range(10)]
    for ev in burst:
        n.publish(ev)
    wait_until(lambda: not n.outbox.waiting(), what="the burst sent")
    messages = receiver.requests("/ok")
    assert len(messages) <= 2  # the first may go alone; the rest wait out the interval together
    assert [e["id"] for e in unique_events(messages)] == [e["id"] for e in burst]
