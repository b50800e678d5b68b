"""The session file as a user meets it: valid TOML, clear errors, torn tails, 0600, rewrites."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from warroom.collectors.sample import Count, Group
from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    ModelError,
    PoolFigure,
    RefusedFigure,
    SampleRollup,
    Server,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.store import SessionError, Store, load, load_header

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)



# -- the format --------------------------------------------------------------------------------


def test_file_is_plain_toml_with_schema_first_and_blocks(session: Store) -> None:
    raw = session.path.read_bytes()
    assert raw.startswith(b"schema = 2\n")
    doc = tomllib.loads(raw.decode())
    assert doc["incident"]["title"] == "orders DB refusing connections"
    assert doc["incident"]["started_at"] == T0
    assert doc["target"]["dsn"] == "host=db1 dbname=orders user=app"
    assert [e["text"] for e in doc["timeline"]] == [
        "pager: connections at 98%",
        "pgbouncer pool full",
        "raised pool size",
    ]
    assert doc["timeline"][1]["source"] == "cli"
    assert doc["action_items"][0]["owner"] == "ana"
    assert [s["status"] for s in doc["samples"]] == ["up", "down"]
    # None fields are left out (TOML has no null)
    assert "conn_max" not in doc["samples"][1]
    assert "detected_at" not in doc["incident"]


def test_load_gives_back_what_was_written(session: Store) -> None:
    loaded = load(session.path)
    assert loaded.torn is None
    assert loaded.incident == session.incident
    assert len(loaded.incident.timeline) == 3


def test_load_header_reads_only_the_header(session: Store) -> None:
    header = load_header(session.path)
    assert header.title == "orders DB refusing connections"
    assert header.severity == "SEV1"
    assert header.timeline == [] and header.samples == [] and header.action_items == []
    session.update(lambda inc: inc.status_change(Status.RESOLVED, at(60)))
    assert load_header(session.path).status is Status.RESOLVED
    assert load_header(session.path).resolved_at == at(60)


def test_load_header_does_not_look_at_blocks(session: Store) -> None:
    # Listing many sessions must stay cheap; a broken block is for `warroom check` to report.
    with open(session.path, "ab") as f:
        f.write(b'\n[[timeline]]\nid = 1\nat = "x"\nkind = "note"\ntext = ""\n')
        f.write(b'author = ""\nsource = "cli"\n\n[[timeline]]\nid = "z"\n')
    assert load_header(session.path).title == "orders DB refusing connections"
    with pytest.raises(SessionError, match=r"timeline\[3\]\.id: expected a string"):
        load(session.path)


def test_first_detection_entry_rewrites_the_header(session: Store) -> None:
    entry = TimelineEntry(at=at(3), text="on-call paged", kind=Kind.DETECTION)
    session.append_entry(entry)
    assert session.incident.detected_at == at(3)
    assert load_header(session.path).detected_at == at(3)
    assert load(session.path).incident == session.incident
    # A second detection does not move it, and is a plain append.
    before = session.path.read_bytes()
    session.append_entry(TimelineEntry(at=at(4), text="again", kind=Kind.DETECTION))
    assert load_header(session.path).detected_at == at(3)
    assert session.path.read_bytes().startswith(before)


def test_create_refuses_an_existing_file(session: Store) -> None:
    before = session.path.read_bytes()
    with pytest.raises(SessionError, match="already exists"):
        Store.create(session.path, Incident.create("other", T0))
    assert session.path.read_bytes() == before


def test_create_makes_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.toml"
    Store.create(path, Incident.create("x", T0))
    assert load(path).incident.title == "x"


def test_missing_file() -> None:
    path = Path("/nonexistent/warroom/x.toml")
    for call in (load, load_header, Store.open):
        with pytest.raises(SessionError) as err:
            call(path)
        assert str(err.value) == f"no such session file: {path}"


def test_duplicate_entry_id_is_refused(session: Store) -> None:
    before = session.path.read_bytes()
    dup = TimelineEntry(at=at(9), text="again", id=session.incident.timeline[0].id)
    with pytest.raises(SessionError, match="already has an entry with id"):
        session.append_entry(dup)
    assert session.path.read_bytes() == before
    assert len(session.incident.timeline) == 3


def test_text_that_cannot_be_stored_is_refused_before_writing(session: Store) -> None:
    before = session.path.read_bytes()
    with pytest.raises(SessionError, match="not valid Unicode"):
        session.append_entry(TimelineEntry(at=at(9), text="bad \udcff byte"))
    assert session.path.read_bytes() == before
    assert len(session.incident.timeline) == 3


# -- permissions and secrets -----------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)  # the most permissive umask: 0600 must come from the store itself
    try:
        yield
    finally:
        os.umask(old)


def test_files_are_0600(session_path: Path, open_umask: None) -> None:
    store = Store.create(session_path, Incident.create("perm", T0))
    lock = session_path.with_name(session_path.name + ".lock")
    assert mode(session_path) == 0o600
    assert mode(lock) == 0o600
    store.append_entry(TimelineEntry(at=at(1), text="a"))
    store.update(lambda inc: inc.set_severity("SEV3"))  # a rewrite is a new file
    assert mode(session_path) == 0o600
    with open(session_path, "ab") as f:
        f.write(b'\n[[timeline]]\nid = "cut')
    reopened = Store.open(session_path)
    assert reopened.recovered_to is not None
    assert mode(reopened.recovered_to) == 0o600
    assert mode(session_path) == 0o600
    leftovers = sorted(p.name for p in session_path.parent.iterdir())
    assert leftovers == sorted([session_path.name, lock.name, reopened.recovered_to.name]), (
        "no temp files left behind"
    )


@pytest.mark.parametrize(
    ("dsn", "kept"),
    [
        ("postgresql://app:hunter2@db1:5432/orders?sslmode=require", "postgresql://app@db1:5432/"),
        ("postgres://app:hunter2@db1/orders?password=hunter2&sslmode=require", "sslmode=require"),
        ("host=db1 password=hunter2 dbname=orders", "host=db1 dbname=orders"),
        ("host=db1 password = 'hunter2 x\\'y' dbname=orders", "dbname=orders"),
    ],
)
def test_no_password_reaches_the_file(session_path: Path, dsn: str, kept: str) -> None:
    incident = Incident.create("secret", T0, target=Target(dsn=dsn, pgbouncer=dsn))
    store = Store.create(session_path, incident)
    store.update(lambda inc: inc.set_severity("SEV1"))
    raw = session_path.read_bytes()
    assert b"hunter2" not in raw
    assert kept in load(session_path).incident.target.dsn


# -- corrupt files ---------------------------------------------------------------------------


def _replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def change(raw: bytes) -> bytes:
        assert old in raw
        return raw.replace(old, new, 1)

    return change


def _drop_line(prefix: bytes, occurrence: int = 0) -> Callable[[bytes], bytes]:
    def change(raw: bytes) -> bytes:
        lines = raw.split(b"\n")
        hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        del lines[hits[occurrence]]
        return b"\n".join(lines)

    return change


CORRUPTIONS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated in the header": (lambda raw: raw[:120], r"line \d+"),
    "truncated mid-table in the header": (
        lambda raw: raw[: raw.index(b"[incident.roles]") + 8],
        r"line \d+.*not valid TOML",
    ),
    "middle block lost a key": (
        _drop_line(b"source = ", 1),
        r"line \d+: timeline\[1\]\.source: missing",
    ),
    "wrong type for at": (
        _replace(b"at = 2026-11-24 09:05:00+00:00", b'at = "09:05"'),
        r"line \d+: timeline\[1\]\.at: expected an offset datetime, got a string",
    ),
    "local datetime": (
        _replace(b"at = 2026-11-24 09:05:00+00:00", b"at = 2026-11-24T09:05:00"),
        r"timeline\[1\]\.at: expected an offset datetime, got a local datetime",
    ),
    "wrong type for severity": (
        _replace(b'severity = "SEV1"', b"severity = 1"),
        r"line 6: incident\.severity: expected a string, got an integer",
    ),
    "unknown severity": (
        _replace(b'severity = "SEV1"', b'severity = "SEV9"'),
        r"incident: unknown severity 'SEV9'",
    ),
    "unknown kind": (
        _replace(b'kind = "action"', b'kind = "actoin"'),
        r"timeline\[2\]\.kind: unknown value 'actoin'",
    ),
    "bool as int": (
        _replace(b"refused = 3", b"refused = true"),
        r"samples\[1\]\.refused: expected an integer, got a boolean",
    ),
    "key times out of order": (
        _replace(
            b"started_at = 2026-11-24 09:00:00+00:00",
            b"started_at = 2026-11-24 09:00:00+00:00\ndetected_at = 2026-11-24 08:00:00+00:00",
        ),
        r"incident: detected_at \(2026-11-24 08:00:00 UTC\) is before started_at",
    ),
    "unknown key": (
        _replace(b'owner = "ana"', b'owner = "ana"\nowenr = "bo"'),
        r"line \d+: action_items\[0\]\.owenr: unknown key",
    ),
    "newer schema": (
        _replace(b"schema = 2", b"schema = 3"),
        r"line 1: schema: written by a newer warroom \(schema 3; this one reads 2\)",
    ),
    "missing schema": (_replace(b"schema = 2\n", b""), r"schema: missing"),
    "schema not a number": (
        _replace(b"schema = 2", b'schema = "2"'),
        r"schema: expected an integer, got a string",
    ),
    "empty file": (lambda raw: b"", r"schema: missing"),
    "garbage": (lambda raw: bytes(range(256)) * 4, r"line 2: not UTF-8 text"),
    "garbage text": (lambda raw: b"\x1b[31mhello\n" * 3, r"line 1, column 1: .*not valid TOML"),
    "not utf-8 in the middle": (
        _replace(b"pgbouncer pool full", b"pgbouncer \xff\xfe full"),
        r"line \d+: not UTF-8 text",
    ),
    "nul byte in the middle": (
        _replace(b"pgbouncer pool full", b"pgbouncer\x00pool full"),
        r"line \d+, column \d+: .*not valid TOML",
    ),
    "garbage appended that is not a block": (
        lambda raw: raw + b"\nrm -rf / # oops",
        r"line \d+.*not valid TOML",
    ),
    "cut-off block after a corrupt one": (
        lambda raw: _replace(b'kind = "action"', b'kind = "actoin"')(raw) + b"\n[[timeline]]\nid",
        r"timeline\[2\]\.kind: unknown value",
    ),
    "a block turned into a plain table": (
        _replace(b"[[action_items]]", b"[action_items]"),
        r"action_items: expected \[\[action_items\]\] blocks, got a table",
    ),
}


# Only in a rollup that is not the last block: a writer that leaves the rollups undecoded
# (``note``) does not see it, and keeps it as it is (test_store_lazy).
ROLLUP_CORRUPTIONS = frozenset({"bool as int"})


def open_lazily(path: Path) -> Store:
    return Store.open(path, lazy=True)


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupt_file_gives_one_line_error_and_stays_byte_identical(
    session: Store, name: str
) -> None:
    change, pattern = CORRUPTIONS[name]
    broken = change(session.path.read_bytes())
    session.path.write_bytes(broken)
    readers = (load, Store.open) if name in ROLLUP_CORRUPTIONS else (load, Store.open, open_lazily)
    for reader in readers:
        with pytest.raises(SessionError) as err:
            reader(session.path)
        message = str(err.value)
        assert message.startswith(f"{session.path}: "), message
        assert "\n" not in message
        assert re.search(pattern, message), message
        assert session.path.read_bytes() == broken, f"{reader.__name__} changed the file"
    torn = [p for p in session.path.parent.iterdir() if ".torn-" in p.name]
    assert torn == []
    # A Store that was already open refuses to write on top of it, and leaves it alone too.
    with pytest.raises(SessionError):
        session.append_entry(TimelineEntry(at=at(30), text="more"))
    assert session.path.read_bytes() == broken


def test_corrupt_header_error_names_the_line(session: Store) -> None:
    raw = session.path.read_bytes()
    session.path.write_bytes(raw.replace(b'status = "investigating"', b"status = investigating"))
    with pytest.raises(SessionError) as err:
        load(session.path)
    assert str(err.value).startswith(f"{session.path}: line 7, column 10: invalid value")


# -- torn tails ------------------------------------------------------------------------------


def _torn_cases(session: Store) -> tuple[bytes, bytes]:
    """The file before one more append, and that append's bytes."""
    before = session.path.read_bytes()
    session.append_entry(
        TimelineEntry(at=at(8), text='rollback "v2" \u2192 ok\n[[timeline]]', author="bo")
    )
    after = session.path.read_bytes()
    assert after.startswith(before)
    return before, after[len(before) :]


def test_every_cut_of_the_last_append_is_torn_not_corrupt(session: Store) -> None:
    base = session.incident.copy()
    before, block = _torn_cases(session)
    assert block.startswith(b"\n[[timeline]]\n")
    for cut in range(1, len(block)):
        data = before + block[:cut]
        session.path.write_bytes(data)
        loaded = load(session.path)
        assert session.path.read_bytes() == data, "load() never writes"
        assert loaded.incident == base, cut
        if cut == 1:  # only the blank line made it: nothing is torn
            assert loaded.torn is None
        else:
            assert loaded.torn == block[1:cut], cut
    session.path.write_bytes(before + block)
    assert load(session.path).torn is None


@pytest.mark.parametrize("lazy", [False, True], ids=["full", "lazy"])
@pytest.mark.parametrize("kind", ["timeline", "samples", "action_items"])
def test_open_recovers_a_torn_append(session: Store, kind: str, lazy: bool) -> None:
    base = session.incident.copy()
    before = session.path.read_bytes()
    if kind == "timeline":
        session.append_entry(TimelineEntry(at=at(8), text="half"))
    elif kind == "samples":
        session.append_samples([SampleRollup(at=at(1), samples=10, conn_max=90)])
    else:
        session.append_action_item(ActionItem(text="half", due=date(2026, 12, 1)))
    block = session.path.read_bytes()[len(before) :]
    torn_at = len(block) * 2 // 3
    session.path.write_bytes(before + block[:torn_at])

    store = Store.open(session.path, lazy=lazy)
    assert store.incident == base
    assert store.recovered_to is not None
    assert store.recovered_to.parent == session.path.parent
    assert store.recovered_to.name.startswith(session.path.name + ".torn-")
    assert store.recovered_to.read_bytes() == block[1:torn_at]
    assert load(session.path).torn is None
    store.append_entry(TimelineEntry(at=at(9), text="after recovery"))
    loaded = load(session.path)
    assert loaded.torn is None
    assert [e.text for e in loaded.incident.timeline][-2:] == ["raised pool size", "after recovery"]


def test_append_repairs_a_tail_torn_by_another_writer(session: Store) -> None:
    with open(session.path, "ab") as f:
        f.write(b"\n[[samples]]\nat = 2026-11-24 09:00:00+00:00\nseconds = 1")
    session.append_entry(TimelineEntry(at=at(9), text="still works"))
    assert session.recovered_to is not None
    assert session.recovered_to.read_bytes().startswith(b"[[samples]]\n")
    loaded = load(session.path)
    assert loaded.torn is None
    assert loaded.incident == session.incident
    assert loaded.incident.timeline[-1].text == "still works"


def test_two_recoveries_in_one_second_keep_both_torn_tails(session: Store) -> None:
    saved = []
    for tail in (b'\n[[timeline]]\nid = "one', b'\n[[timeline]]\nid = "two'):
        with open(session.path, "ab") as f:
            f.write(tail)
        store = Store.open(session.path)
        assert store.recovered_to is not None
        saved.append(store.recovered_to)
    assert saved[0] != saved[1]
    assert [p.read_bytes() for p in saved] == [
        b'[[timeline]]\nid = "one',
        b'[[timeline]]\nid = "two',
    ]


# -- update() --------------------------------------------------------------------------------


def test_update_that_raises_changes_nothing(session: Store) -> None:
    before_bytes = session.path.read_bytes()
    before = session.incident.copy()

    def bad(inc: Incident) -> None:
        inc.set_severity("SEV3")  # applied first, then the refusal below
        inc.status_change(Status.RESOLVED, T0 - timedelta(hours=1))

    with pytest.raises(ModelError, match="resolved_at"):
        session.update(bad)
    assert session.path.read_bytes() == before_bytes
    assert session.incident == before
    assert session.incident.severity == "SEV1"
    # and the store still works
    session.append_entry(TimelineEntry(at=at(10), text="ok"))
    assert load(session.path).incident == session.incident


def test_update_refuses_a_header_it_could_not_read_back(session: Store) -> None:
    before_bytes = session.path.read_bytes()
    before = session.incident.copy()

    def sneaky(inc: Incident) -> None:
        inc.severity = "SEV9"  # bypasses set_severity's check

    with pytest.raises(SessionError, match="SEV9"):
        session.update(sneaky)
    assert session.path.read_bytes() == before_bytes
    assert session.incident == before


def test_update_edits_and_deletes_entries(session: Store) -> None:
    first, second, _ = (e.id for e in session.incident.timeline)
    incident = session.incident
    session.update(lambda inc: inc.replace_entry(first, text="pager: 99%"))
    session.update(lambda inc: inc.remove_entry(second))
    assert session.incident is incident, "holders of store.incident see the change"
    loaded = load(session.path).incident
    assert [e.text for e in loaded.timeline] == ["pager: 99%", "raised pool size"]
    assert loaded == session.incident


def test_update_returns_the_change_result(session: Store) -> None:
    entry = session.update(lambda inc: inc.status_change("identified", at(20), "ana"))
    assert entry.kind is Kind.STATUS
    assert load(session.path).incident.timeline[-1] == entry
    assert load(session.path).incident.identified_at == at(20)


# -- other processes -------------------------------------------------------------------------


OTHER_WRITER = """
import sys
from datetime import datetime, UTC, timedelta
from pathlib import Path
from warroom.sessions.model import TimelineEntry, Source
from warroom.sessions.store import Store

store = Store.open(Path(sys.argv[1]))
t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
if sys.argv[2] == "append":
    for i in range(3):
        store.append_entry(TimelineEntry(at=t0, text=f"from shell {i}", source=Source.CLI))
    print(" ".join(e.id for e in store.incident.timeline[-3:]))
else:
    store.update(lambda inc: inc.status_change("monitoring", t0 + timedelta(minutes=30)))
    print(store.incident.timeline[-1].id)
"""


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", OTHER_WRITER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_refresh_sees_another_process_appends_and_rewrites(session: Store) -> None:
    assert session.refresh() == []
    ids = _run(str(session.path), "append").split()
    new = session.refresh()
    assert [e.id for e in new] == ids
    assert [e.text for e in new] == ["from shell 0", "from shell 1", "from shell 2"]
    assert session.refresh() == []
    assert session.incident == load(session.path).incident

    status_id = _run(str(session.path), "status")
    new = session.refresh()
    assert [e.id for e in new] == [status_id]
    assert session.incident.status is Status.MONITORING
    assert session.incident.mitigated_at == at(30)
    assert session.incident == load(session.path).incident

    # This store's own next write keeps the others' entries.
    session.append_entry(TimelineEntry(at=at(31), text="mine"))
    texts = [e.text for e in load(session.path).incident.timeline]
    assert texts[-5:-2] == ["from shell 0", "from shell 1", "from shell 2"]
    assert texts[-1] == "mine"


def test_append_picks_up_other_writes_first(session: Store) -> None:
    _run(str(session.path), "status")  # a rewrite this store has not seen
    session.append_entry(TimelineEntry(at=at(40), text="mine"))
    loaded = load(session.path).incident
    assert loaded.status is Status.MONITORING, "the other writer's rewrite was not overwritten"
    assert loaded.timeline[-1].text == "mine"
    assert loaded == session.incident


def test_update_picks_up_other_writes_first(session: Store) -> None:
    ids = _run(str(session.path), "append").split()
    session.update(lambda inc: inc.set_severity("SEV2"))
    loaded = load(session.path).incident
    assert loaded.severity == "SEV2"
    assert [e.id for e in loaded.timeline[-3:]] == ids


def test_refresh_reports_a_file_another_process_broke(session: Store) -> None:
    raw = session.path.read_bytes()
    session.path.write_bytes(raw.replace(b'kind = "action"', b"kind = 7"))
    with pytest.raises(SessionError, match=r"timeline\[2\]\.kind: expected a string"):
        session.refresh()


def test_every_model_field_is_stored() -> None:
    # A field added to the model but not to the codec would silently vanish from the file.
    from warroom.sessions.model import field_names
    from warroom.sessions.toml_codec import (
        BLOCK_KEYS,
        action_item_table,
        decode_rollup,
        entry_table,
        header_tables,
        render_block,
        rollup_table,
    )

    incident = Incident.create("x", T0)
    for name in ("detected_at", "identified_at", "mitigated_at", "resolved_at"):
        setattr(incident, name, T0)
    incident.share = "host=ops"
    incident.contributing_factors = ("no pool cap",)  # written only when there are some
    servers = (Server("a", "host=a password=x"), Server("b", "host=b"))
    incident.target = Target("host=a", "", servers)
    header = header_tables(incident)
    lists = {"timeline", "action_items", "samples", "target", "share"}
    assert set(header["incident"]) == set(field_names(Incident)) - lists
    assert header["share"] == {"dsn": "host=ops"}
    assert set(header["target"]) == set(field_names(Target))
    # Several servers keep their order and lose their passwords.
    assert header["target"]["servers"] == {"a": {"dsn": "host=a", "pgbouncer": ""},
                                           "b": {"dsn": "host=b", "pgbouncer": ""}}
    entry = entry_table(TimelineEntry(at=T0, text="x"))
    # status is written only when ``done`` cannot say it (wont_do)
    item = action_item_table(ActionItem(text="x", due=date(2026, 1, 1), status="wont_do"))
    structured = {
        "by_state": (("idle", 1),), "top_apps": (("app", 1),), "refused_by": (("auth", 1),),
        "host_tcp": (("ESTABLISHED", 1),), "bouncer_pools": (PoolFigure("db/app", 1),),
        "down_kind": "unreachable", "bouncer_error": "timeout", "server": "replica-1",
        "role": "replica", "repl_state": "paused",
        "top_users": (("app", 1),), "top_clients": (("10.0.0.5", 1),),
        "top_groups": (Group("", "app", 3, clients=(Count("10.0.0.5", 2),), client_count=1),),
        "log_source": "file", "log_counts": (("refused", 4),), "source": "recorder",
        "log_refused_top": (RefusedFigure("app", "db", "10.0.0.5", 4),),
    }  # fmt: skip
    plain = {n: 1 for n in field_names(SampleRollup) if n not in ("at", "status", *structured)}
    full = SampleRollup(at=T0, **plain, **structured)
    rollup = rollup_table(full)
    # ...and every field comes back as it went in.
    assert decode_rollup(tomllib.loads(render_block("samples", rollup).decode())["samples"][0],
                         0) == full
    assert set(entry) == set(field_names(TimelineEntry)) == BLOCK_KEYS["timeline"]
    # ``done``: the key older files and readers know, kept beside ``status``
    assert set(item) == {*field_names(ActionItem), "done"} == BLOCK_KEYS["action_items"]
    assert set(rollup) == set(field_names(SampleRollup)) == BLOCK_KEYS["samples"]


def test_reading_never_creates_files(session: Store, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    copy = alone / "copy.toml"
    copy.write_bytes(session.path.read_bytes() + b'\n[[timeline]]\nid = "torn')
    assert load(copy).torn == b'[[timeline]]\nid = "torn'
    assert load_header(copy).title == session.incident.title
    assert [p.name for p in alone.iterdir()] == ["copy.toml"]


def test_open_sweeps_temp_files_of_writers_that_died_mid_rewrite(session_path: Path) -> None:
    Store.create(session_path, Incident.create("sweep", T0))
    # A writer killed between creating its temp file and renaming it: a real, now dead, pid.
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from warroom.sessions.fileio import temp_beside\n"
        "temp, fd = temp_beside(Path(sys.argv[1]))\n"
        "os.write(fd, b'half a rewrite')\n"
        "print(temp, flush=True)\n"
        "os._exit(9)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(session_path)], capture_output=True, text=True
    )
    dead = Path(done.stdout.strip())
    assert dead.exists() and dead.parent == session_path.parent
    from warroom.sessions.fileio import temp_beside

    ours, fd = temp_beside(session_path)  # a live writer's temp file is not touched
    os.close(fd)
    before = session_path.read_bytes()
    Store.open(session_path)
    assert not dead.exists()
    assert ours.exists()
    assert session_path.read_bytes() == before


def test_several_servers_come_back_from_the_file_in_watch_order(tmp_path: Path) -> None:
    servers = (Server("primary", "host=p port=5432 password=s3cret"), Server("replica-1", "host=r"),
               Server("pool", "host=q", "host=q port=6432"))  # fmt: skip
    incident = Incident.create("x", T0, target=Target("host=p port=5432", "", servers))
    store = Store.create(tmp_path / "s.toml", incident)
    text = store.path.read_text()
    assert "s3cret" not in text
    back = load(store.path).incident.target.servers
    assert [s.name for s in back] == ["primary", "replica-1", "pool"]
    assert back[2].pgbouncer == "host=q port=6432" and back[0].dsn == "host=p port=5432"
