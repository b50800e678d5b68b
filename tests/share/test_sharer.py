"""The Sharer's API as the dashboard uses it, and `watch --share`'s wiring (no terminal)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

from support.share_hosts import Host, wait_until

from warroom.formats import short_age as _duration
from warroom.sessions.model import Incident, TimelineEntry
from warroom.sessions.share import client
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow


def test_indicator_durations() -> None:
    assert [_duration(s) for s in (5, 59, 60, 150, 3600, 3725)] == [
        "5s", "59s", "1m", "2m", "1h00m", "1h02m",
    ]


def test_dashboard_sharer_shares_a_new_session_and_logs_beside_it(
    ops: Any, hosts: Any
) -> None:
    a: Host = hosts("hostA")
    a.run("share", "init", "--share", ops.dsn())
    store = Store.create(a.home / "new.toml", Incident.create("from the dashboard", utcnow()))
    log = logging.getLogger("warroom.share")
    saved = log.handlers[:], log.propagate
    sharer = client.dashboard_sharer(store, ops.dsn(), "ana@hostA")
    try:
        assert sharer is not None
        assert store.incident.share  # marked shared, without a password
        store.append_entry(TimelineEntry(at=utcnow(), text="typed in the dashboard"))
        wait_until(lambda: sharer.status().text == "shared", 10, "published")
        log.warning("a test warning")
        log_file = store.path.with_name("new.share.log")
        assert "a test warning" in log_file.read_text()
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    finally:
        if sharer is not None:
            sharer.stop()
        log.handlers, log.propagate = saved
    b: Host = hosts("hostB")
    b.run("join", store.incident.id, "--share", ops.dsn())
    assert [e.text for e in b.entries()] == ["typed in the dashboard"]


def test_no_sharer_for_an_unshared_session_without_a_dsn(tmp_path: Any) -> None:
    store = Store.create(tmp_path / "x.toml", Incident.create("local", utcnow()))
    assert client.dashboard_sharer(store, None, "ana") is None


def test_behind_a_transaction_pooler_the_sharer_polls(ops: Any, hosts: Any) -> None:
    import os

    import pytest
    from support.pgbouncer import BouncerUnavailable, PgBouncer

    try:
        bouncer = PgBouncer(ops, pool_mode="transaction", pool_size=2)
    except BouncerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PgBouncer is required in CI: {exc}")
        pytest.skip(str(exc))
    a: Host = hosts("hostA")
    b: Host = hosts("hostB")
    a.run("share", "init", "--share", ops.dsn())
    try:
        bouncer.start()
        path = a.run("new", "--share", bouncer.dsn(), "--title", "pooled").stdout.strip()
        store = Store.open(Path(path))
        b.run("join", store.incident.id, "--share", bouncer.dsn())
        log = logging.getLogger("warroom.share")
        saved = log.handlers[:], log.propagate
        sharer = client.dashboard_sharer(store, None, "ana@hostA")
        assert sharer is not None
        try:
            wait_until(lambda: sharer.status().text == "shared (polling)", 15, "polling")
            b.run("note", "through the pooler")
            wait_until(lambda: "through the pooler" in [e.text for e in store.incident.timeline],
                       10, "B's note")
        finally:
            sharer.stop()
            log.handlers, log.propagate = saved
    finally:
        bouncer.cleanup()


def _slow(proxy: Any) -> str:
    """The server behind ``proxy``, which delays every packet: slower to answer than the time
    `watch` waits for the check before it opens the dashboard."""
    return f"host=127.0.0.1 port={proxy.port} dbname=postgres user=postgres"


def _events(ops: Any, incident_id: str) -> int:
    with ops.connect() as conn:
        row = conn.execute("SELECT count(*) FROM warroom.events WHERE incident = %s",
                           (incident_id,)).fetchone()  # fmt: skip
    return int(row[0])


def test_a_watched_server_slow_to_answer_is_checked_behind_the_dashboard_and_never_shared_into(
    ops: Any, hosts: Any
) -> None:
    from warroom.drill.proxy import DelayProxy
    from warroom.sessions.share import opsdb

    a: Host = hosts("hostA")
    a.run("share", "init", "--share", ops.dsn())
    with DelayProxy(ops.port, delay=0.2) as proxy:  # the ops server itself, under another name
        check = opsdb.refuse_watched([_slow(proxy)], ops.dsn())
        assert check is not None, "the check held the dashboard back until it ended"
        path = a.run("new", "--title", "storm").stdout.strip()
        store = Store.open(Path(path))
        sharer = client.dashboard_sharer(store, ops.dsn(), "ana@hostA", check)
        assert sharer is not None
        try:
            store.append_entry(TimelineEntry(at=utcnow(), text="typed while it checks"))
            wait_until(lambda: sharer.status().text.startswith("not shared"), 20, "refusal")
            assert "--share points at the server being watched" in sharer.status().error
        finally:
            sharer.stop()
    assert Store.open(Path(path)).incident.share == ""  # `warroom note` will send nothing
    a.run("note", "--session", path, "from a shell")
    assert _events(ops, store.incident.id) == 0
    assert "--share points at the server being watched" in Path(
        path).with_suffix(".share.log").read_text()


def test_a_slow_watched_server_that_is_another_one_is_shared_once_checked(
    ops: Any, pg: Any, hosts: Any
) -> None:
    from warroom.drill.proxy import DelayProxy
    from warroom.sessions.share import opsdb

    a: Host = hosts("hostA")
    a.run("share", "init", "--share", ops.dsn())
    with DelayProxy(pg.port, delay=0.2) as proxy:
        check = opsdb.refuse_watched([_slow(proxy)], ops.dsn())
        assert check is not None
        store = Store.create(a.home / "new.toml", Incident.create("storm", utcnow()))
        sharer = client.dashboard_sharer(store, ops.dsn(), "ana@hostA", check)
        assert sharer is not None
        try:
            store.append_entry(TimelineEntry(at=utcnow(), text="typed while it checks"))
            wait_until(lambda: sharer.status().text == "shared", 20, "published")
        finally:
            sharer.stop()
    assert store.incident.share
    assert _events(ops, store.incident.id) >= 2  # created, and the note
