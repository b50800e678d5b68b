"""share init, new --share, join, note/status and sessions --share on a real ops cluster."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from support.share_hosts import Host

from warroom.sessions.ids import new_uuid7


def test_share_init_twice_is_harmless_and_prints_the_grants(ops: Any, hosts: Any) -> None:
    a = hosts("hostA")
    first = a.run("share", "init", "--share", ops.dsn())
    assert "created, version 1" in first.stdout
    second = a.run("share", "init", "--share", ops.dsn())
    assert "already at version 1" in second.stdout
    assert "GRANT EXECUTE ON FUNCTION warroom.publish" in second.stdout
    with ops.connect() as conn:
        assert conn.execute("SELECT count(*) FROM warroom.schema_version").fetchone() == (1,)
        # The grants as printed work on the server.
        for statement in second.stdout.split("\n"):
            if statement.startswith(("CREATE ROLE", "GRANT")):
                conn.execute(statement)


def test_share_init_without_a_dsn_is_a_usage_error(hosts: Any) -> None:
    result = hosts("hostA").run("share", "init", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("warroom: error: share init needs")


def test_new_join_note_status_round_trip(shared: tuple[Host, Host, str], ops: Any) -> None:
    a, b, incident = shared
    note_id = a.run("note", "pool exhausted on shop-api").stdout.strip()
    b.run("note", "--kind", "action", "raised pool max")  # publishes, then takes A's in
    assert note_id in {e.id for e in b.incident().timeline}
    mine = next(e for e in b.incident().timeline if e.id == note_id)
    assert mine.author == "hostA-user@hostA"
    a.run("status", "identified")
    b.run("status", "monitoring")
    a.run("join", incident)  # catches an existing copy up, prints its path
    assert [e.id for e in a.entries()] == [e.id for e in b.entries()]
    assert a.incident().status.value == b.incident().status.value == "monitoring"
    for host in (a, b):
        path = host.session()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for side in path.parent.glob(f"{path.stem}.share.*"):
            assert stat.S_IMODE(side.stat().st_mode) == 0o600, side
        assert host.run("check", str(path)).returncode == 0
    listing = b.run("sessions", "--share", ops.dsn()).stdout
    line = next(li for li in listing.splitlines() if li.startswith(incident))
    assert "orders db" in line and "SEV2" in line and "monitoring" in line
    assert "hostA-user@hostA" in line and "hostB-user@hostB" in line


def test_every_event_is_on_the_server_once(shared: tuple[Host, Host, str], ops: Any) -> None:
    a, _b, incident = shared
    for i in range(5):
        a.run("note", f"a{i}")
    with ops.connect() as conn:
        rows = conn.execute(
            "SELECT id, count(*) FROM warroom.events GROUP BY id HAVING count(*) > 1"
        ).fetchall()
        seqs = [r[0] for r in conn.execute(
            "SELECT seq FROM warroom.events WHERE incident = %s ORDER BY seq", (incident,)
        )]
    assert rows == []
    assert seqs == list(range(1, len(seqs) + 1))  # the incident's own gapless sequence


def test_the_password_never_reaches_the_files(ops: Any, hosts: Any, tmp_path: Path) -> None:
    from support.pgcluster import PASSWORD_ROLE

    a = hosts("hostA")
    a.run("share", "init", "--share", ops.dsn())
    with ops.connect() as conn:
        conn.execute(f"GRANT USAGE ON SCHEMA warroom TO {PASSWORD_ROLE}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA warroom TO {PASSWORD_ROLE}")
        conn.execute(f"GRANT INSERT, UPDATE ON warroom.presence TO {PASSWORD_ROLE}")
        conn.execute(f"GRANT EXECUTE ON FUNCTION warroom.publish(text, jsonb) TO {PASSWORD_ROLE}")
    dsn = f"host=127.0.0.1 port={ops.port} dbname=postgres user={PASSWORD_ROLE}"
    result = a.run("new", "--title", "pw", "--share", f"{dsn} password={ops.password}")
    assert result.stderr == ""  # published with the password given on the command line
    path = Path(result.stdout.strip())
    for file in path.parent.iterdir():
        assert ops.password not in file.read_text(), file
    # Later commands use libpq's own ways: here PGPASSWORD.
    note = a.run("note", "later", env={"PGPASSWORD": ops.password})
    assert note.stderr == ""
    without = a.run("note", "no password", env={"PGPASSFILE": str(tmp_path / "none")})
    assert without.returncode == 0 and "will be shared when" in without.stderr


@pytest.mark.parametrize("user", ["postgres", "app"])  # app may not read pg_control_system
def test_sharing_into_the_watched_server_is_refused(ops: Any, hosts: Any, user: str) -> None:
    a = hosts("hostA")
    a.run("share", "init", "--share", ops.dsn())
    watched = ops.dsn(user=user)
    result = a.run("watch", "--dsn", watched, "--share", ops.dsn(), check=False, timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith("warroom: error: --share points at the server being watched")
    assert len(result.stderr.splitlines()) == 1
    assert not list(a.home.glob("*.toml")), "a refused watch created a session"


def test_sharing_into_one_of_several_watched_servers_is_refused(
    ops: Any, pg: Any, hosts: Any
) -> None:
    a = hosts("hostA")
    a.run("share", "init", "--share", ops.dsn())
    result = a.run("watch", "--dsn", pg.dsn(), "--dsn", ops.dsn(), "--share", ops.dsn(),
                   check=False, timeout=30)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("warroom: error: --share points at the server being watched")
    assert not list(a.home.glob("*.toml")), "a refused watch created a session"


def test_a_pgbouncer_in_transaction_mode_is_explained(pg: Any, hosts: Any) -> None:
    from support.pgbouncer import BouncerUnavailable, PgBouncer

    try:
        bouncer = PgBouncer(pg, pool_mode="transaction", pool_size=2)
    except BouncerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PgBouncer is required in CI: {exc}")
        pytest.skip(str(exc))
    try:
        bouncer.start()
        result = hosts("hostA").run("share", "init", "--share", bouncer.dsn(), check=False)
    finally:
        bouncer.cleanup()
    assert result.returncode == 1
    assert "PgBouncer" in result.stderr and "transaction mode" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_join_of_an_unknown_incident_is_one_error_line(ops: Any, hosts: Any) -> None:
    a = hosts("hostA")
    a.run("share", "init", "--share", ops.dsn())
    result = a.run("join", "nope", "--share", ops.dsn(), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("warroom: error: no shared incident nope")


def test_bad_events_are_skipped_with_a_warning(shared: tuple[Host, Host, str], ops: Any) -> None:
    _a, b, incident = shared
    before_ids = {e.id for e in b.incident().timeline}
    bad = [
        ("entry.added", 2, {"id": "x"}),  # newer format
        ("entry.added", 1, {"id": "y", "text": 5}),  # malformed
        ("entry.added", 1, {"id": "z", "at": "2026-01-01T00:00:00Z", "kind": "note",
                            "text": "z" * 40_000, "author": "", "source": "cli"}),  # oversized
        ("entry.added", 1, {"id": "ok", "at": "2026-01-01T00:00:00Z", "kind": "note",
                            "text": "evil\x1b]0;title\x07 text\u202e", "author": "m",
                            "source": "cli"}),  # fine, once sanitised
    ]  # fmt: skip
    with ops.connect() as conn:
        for kind, v, data in bad:
            seq = conn.execute(
                "UPDATE warroom.incidents SET last_seq = last_seq + 1 WHERE id = %s"
                " RETURNING last_seq", (incident,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO warroom.events (incident, seq, id, at, host, author, kind, v, data)"
                " VALUES (%s, %s, %s, now(), 'mallory', 'm', %s, %s, %s)",
                (incident, seq, new_uuid7(), kind, v, json.dumps(data)),
            )
    result = b.run("note", "still fine")
    assert result.returncode == 0
    warnings = [li for li in result.stderr.splitlines() if li.startswith("warroom: warning:")]
    assert len(warnings) == 3, result.stderr
    assert any("newer" in w for w in warnings) and any("more than" in w for w in warnings)
    texts = {e.id: e.text for e in b.incident().timeline}
    assert texts["ok"] == "evil text"
    assert "still fine" in texts.values()
    assert before_ids <= set(texts)  # nothing already written was lost


def test_new_while_the_ops_database_is_down_is_published_later(ops: Any, hosts: Any) -> None:
    a, b = hosts("hostA"), hosts("hostB")
    a.run("share", "init", "--share", ops.dsn())
    ops.stop()
    result = a.run("new", "--share", ops.dsn(), "--title", "born offline", timeout=20)
    assert result.returncode == 0
    assert "the incident is saved locally; will be shared when" in result.stderr
    incident = a.incident().id
    a.run("note", "written offline", timeout=20)
    ops.start()
    a.run("note", "back")  # publishes all three changes, in order
    b.run("join", incident, "--share", ops.dsn())
    assert b.incident().title == "born offline"
    assert [e.text for e in b.entries()] == ["written offline", "back"]


def test_edits_and_deletes_travel(shared: tuple[Host, Host, str]) -> None:
    from warroom.sessions.share.client import try_publish
    from warroom.sessions.share.outbox import Outbox
    from warroom.sessions.store import Store

    a, b, incident = shared
    keep = a.run("note", "typo hree").stdout.strip()
    drop = a.run("note", "wrong incident").stdout.strip()
    b.run("join", incident)
    store = Store.open(b.session())  # as the dashboard edits: Store.update
    outbox = Outbox.attach(store, "hostB", "hostB-user@hostB")

    def edit(inc: Any) -> None:
        inc.replace_entry(keep, text="typo here")
        inc.remove_entry(drop)
        inc.set_severity("SEV1")
        inc.roles.commander = "hostB-user"

    store.update(edit)
    assert try_publish(outbox, store.incident.share, "hostB-user@hostB").ok
    a.run("join", incident)
    got = a.incident()
    assert {e.id: e.text for e in got.timeline}.get(keep) == "typo here"
    assert drop not in {e.id for e in got.timeline}
    assert (got.severity, got.roles.commander) == ("SEV1", "hostB-user")


def test_sessions_lists_local_and_shared_with_the_environment(
    shared: tuple[Host, Host, str], ops: Any
) -> None:
    _a, b, incident = shared
    out = b.run("sessions", env={"WARROOM_SHARE": ops.dsn()}).stdout
    assert "orders db" in out.splitlines()[0]  # the local list first
    assert any(li.startswith(incident) for li in out.splitlines()[1:])


def test_an_old_session_with_8_hex_ids_starts_sharing(ops: Any, hosts: Any) -> None:
    from datetime import UTC, datetime

    from warroom.sessions.model import Incident, TimelineEntry
    from warroom.sessions.store import Store

    a, b = hosts("hostA"), hosts("hostB")
    a.run("share", "init", "--share", ops.dsn())
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    store = Store.create(a.home / "old.toml", Incident.create("old one", t0))
    store.append_entry(TimelineEntry(at=t0, text="from before sharing", id="deadbeef"))
    a.run("note", "--share", ops.dsn(), "now shared")  # --share on an unshared session shares it
    b.run("join", store.incident.id, "--share", ops.dsn())
    assert {e.id for e in b.incident().timeline} >= {"deadbeef"}
    assert [e.text for e in b.entries()] == ["from before sharing", "now shared"]
    for host in (a, b):
        assert host.run("check", str(host.session())).returncode == 0


def test_a_second_incident_with_the_same_id_is_refused(shared: tuple[Host, Host, str]) -> None:
    from warroom.sessions.share import events as ev
    from warroom.sessions.share import opsdb

    a, _b, incident = shared
    clash = ev.make(incident, ev.CREATED, ev.header_data(a.incident()), "hostC", "c")
    dsn = a.incident().share
    with opsdb.connect(dsn) as conn, pytest.raises(opsdb.OpsError, match="already shared"):
        opsdb.publish(conn, incident, [clash.to_json()])


def test_sessions_warns_when_the_configured_ops_database_is_down(
    shared: tuple[Host, Host, str], ops: Any
) -> None:
    _a, b, _ = shared
    dsn = ops.dsn()
    ops.stop()
    result = b.run("sessions", env={"WARROOM_SHARE": dsn}, timeout=20)
    assert result.returncode == 0 and "orders db" in result.stdout
    assert result.stderr.startswith("warroom: warning: shared incidents not listed: ")
