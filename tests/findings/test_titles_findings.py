"""Findings on process-title counts, and an unknown slot limit shown as unknown. Pure: the real
server cases are in tests/collectors/test_pool_holders.py."""

from __future__ import annotations

import json

from rich.text import Text

from tests.findings.samples import at, locks
from warroom.collectors import proctitles
from warroom.collectors.findings import FindingsEngine, Transition
from warroom.collectors.sample import Failure, FailureKind, PgSample
from warroom.widgets.connections import ConnectionsPane
from warroom.widgets.views import ConnectionsView

REFUSED = Failure(FailureKind.TOO_MANY_CONNECTIONS, "sorry, too many clients already", "53300")


def titles_sample(i: int, *, max_connections: int | None) -> PgSample:
    found = [proctitles.parse_title(f"postgres: checkout shop 10.0.0.{k % 2 + 1}(5{k:03d}) "
                                    "idle in transaction") for k in range(95)]
    found += [proctitles.parse_title(f"postgres: batch shop 10.0.0.9(6{k:03d}) idle")
              for k in range(5)]  # fmt: skip
    conns = proctitles.count([b for b in found if b is not None],
                             max_connections=max_connections, reserved=3, top=5)  # fmt: skip
    return PgSample(at=at(i), status="down", error=REFUSED, connections=conns,
                    connections_source="process_titles")  # fmt: skip


def test_titles_raise_the_pool_finding_and_leave_other_findings_alone() -> None:
    engine = FindingsEngine()
    raised = [e for i in range(3) for e in engine.feed(locks(i))]
    assert [e.finding.rule for e in raised] == ["lock_root"]
    # The monitor loses its slot: ten title samples, far more than clear_after (3).
    events = [e for i in range(3, 13) for e in engine.feed(titles_sample(i, max_connections=None))]
    assert [(e.state, e.finding.rule) for e in events] == [(Transition.RAISED, "pool")]
    pool = next(f for f in engine.active() if f.rule == "pool")
    assert pool.text == (
        "user checkout on shop (from 10.0.0.1, 10.0.0.2) holds 95 of 100 client backends; "
        "95 idle in transaction; counted from the server's process titles (no slot for warroom)"
    )
    assert pool.to_json()["source"] == "process_titles"
    assert pool.evidence["usable"] is None and pool.evidence["database"] == "shop"
    assert {f.rule for f in engine.active()} == {"pool", "lock_root"}  # no evidence either way


def test_an_unknown_limit_is_unknown_not_a_percentage() -> None:
    s = titles_sample(0, max_connections=None)
    assert s.connections.usable is None and s.connections.saturation is None
    doc = json.loads(json.dumps(s.to_json()))["connections"]
    assert doc["max"] is None and doc["saturation"] is None and doc["total"] == 100
    view = ConnectionsView(total=100, usable=None, max=None, by_state=(("idle", 100),),
                           waiting=0, top=(), level="down", banner="DOWN")  # fmt: skip
    text = "\n".join(t.plain for t in ConnectionsPane().render_view(view, 60, 8)
                     if isinstance(t, Text))  # fmt: skip
    assert "100 connections, limit unknown" in text
    assert "%" not in text and "/1 usable" not in text
    known = titles_sample(0, max_connections=103)
    assert known.connections.usable == 100
    assert json.loads(json.dumps(known.to_json()))["connections"]["saturation"] == 1.0
