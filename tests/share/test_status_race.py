"""Two hosts change the status at once: the same final state on both, both changes on both."""

from __future__ import annotations

from typing import Any

from support.share_hosts import Host

from warroom.sessions.model import Kind


def test_concurrent_status_changes(shared: tuple[Host, Host, str], ops: Any) -> None:
    a, b, incident = shared
    ops.stop()  # neither sees the other's change before making its own
    a.run("status", "identified", timeout=20)
    b.run("status", "monitoring", timeout=20)
    ops.start()
    a.run("join", incident)  # publishes A's change
    b.run("join", incident)  # publishes B's, takes A's in
    a.run("join", incident)  # takes B's in
    ia, ib = a.incident(), b.incident()
    assert ia.status == ib.status
    assert (ia.identified_at, ia.mitigated_at) == (ib.identified_at, ib.mitigated_at)
    for inc in (ia, ib):
        texts = [e.text for e in inc.timeline if e.kind is Kind.STATUS]
        assert "status: investigating -> identified" in texts
        assert "status: investigating -> monitoring" in texts
        assert any("was overwritten by" in t for t in texts)  # the loser is logged
    assert [e.id for e in a.entries()] == [e.id for e in b.entries()]
    assert [e.text for e in a.entries()] == [e.text for e in b.entries()]
