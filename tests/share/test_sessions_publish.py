"""`warroom sessions` publishes what this host queued while the ops database was down.

The README promises that the next warroom on the host publishes pending events, in order, once;
`sessions` connects to the ops database anyway, so it does. Real ops clusters, stopped and
started; real `warroom` processes.
"""

from __future__ import annotations

from typing import Any

from support.lockholder import LockHolder
from support.share_hosts import Host

from warroom.sessions.share.outbox import Journal


def _server_events(ops: Any, incident: str) -> list[tuple[str, str]]:
    """(event id, kind) of the incident on the ops server, in sequence order."""
    with ops.connect() as conn:
        return [(str(r[0]), str(r[1])) for r in conn.execute(
            "SELECT id, kind FROM warroom.events WHERE incident = %s ORDER BY seq", (incident,)
        )]  # fmt: skip


def _pending(host: Host) -> int:
    path = host.session()
    return len(Journal(path, host.incident().id).pending())


def _born_offline(ops: Any, a: Host) -> str:
    """An incident made and noted on host a while the ops database is down; ops is up again."""
    a.run("share", "init", "--share", ops.dsn())
    ops.stop()
    made = a.run("new", "--share", ops.dsn(), "--title", "born offline", timeout=20)
    assert "will be shared when" in made.stderr
    for text in ("first offline", "second offline"):
        assert "will be shared when" in a.run("note", text, timeout=20).stderr
    a.run("status", "identified", timeout=20)
    ops.start()
    assert _pending(a) > 0
    return a.incident().id


def test_sessions_share_publishes_what_was_queued_offline_once_in_order(
    ops: Any, hosts: Any
) -> None:
    a, b = hosts("hostA"), hosts("hostB")
    incident = _born_offline(ops, a)
    listing = a.run("sessions", "--share", ops.dsn(), timeout=30)
    assert listing.stderr == ""
    # The incident made offline is on the ops database now, so the list has it.
    line = next(li for li in listing.stdout.splitlines() if li.startswith(incident))
    assert "born offline" in line and "identified" in line
    assert _pending(a) == 0
    events = _server_events(ops, incident)
    assert len(events) == len({ident for ident, _ in events})
    assert events[0][1] == "incident.created"  # in journal order: the incident before its entries
    # A second listing sends nothing again.
    a.run("sessions", "--share", ops.dsn(), timeout=30)
    assert _server_events(ops, incident) == events
    b.run("join", incident, "--share", ops.dsn())
    texts = [e.text for e in b.entries()]
    assert texts.count("first offline") == texts.count("second offline") == 1
    assert texts.index("first offline") < texts.index("second offline")
    assert b.incident().status.value == "identified"


def test_plain_sessions_with_a_configured_ops_database_publishes_too(
    ops: Any, hosts: Any
) -> None:
    a = hosts("hostA")
    incident = _born_offline(ops, a)
    done = a.run("sessions", env={"WARROOM_SHARE": ops.dsn()}, timeout=30)
    assert done.stderr == ""
    assert "born offline" in done.stdout.splitlines()[0]  # the local list first
    assert _pending(a) == 0
    texts = [kind for _, kind in _server_events(ops, incident)]
    assert texts.count("incident.created") == 1


def test_still_down_is_a_warning_and_everything_stays_pending(ops: Any, hosts: Any) -> None:
    a = hosts("hostA")
    _born_offline(ops, a)
    before = _pending(a)
    dsn = ops.dsn()
    ops.stop()
    done = a.run("sessions", env={"WARROOM_SHARE": dsn}, timeout=30)
    assert done.returncode == 0 and "born offline" in done.stdout
    assert done.stderr.startswith("warroom: warning: shared incidents not listed: ")
    assert _pending(a) == before
    ops.start()
    a.run("sessions", env={"WARROOM_SHARE": dsn}, timeout=30)
    assert _pending(a) == 0


def test_a_session_locked_by_another_writer_is_published_without_waiting_for_it(
    ops: Any, hosts: Any
) -> None:
    a = hosts("hostA")
    incident = _born_offline(ops, a)
    # A dashboard (or a stuck note) holds the session's lock: publishing reads only the
    # journal, so the listing neither waits for it nor leaves the events behind.
    with LockHolder(a.session()):
        done = a.run("sessions", "--share", ops.dsn(), timeout=30)
    assert done.stderr == ""
    assert any(li.startswith(incident) for li in done.stdout.splitlines())
    assert _pending(a) == 0
