"""Writers that never read the rollups leave them undecoded and write them back byte for byte.

``Store.open(path, lazy=True)`` (``warroom note``, ``status``, sharing's catch-up) keeps the
``[[samples]]`` blocks as the bytes it read; these tests hold it to the file being the truth:
every rollup block survives every write unchanged and in order, one appended by another writer
too, a malformed one included, and whoever reads the rollups still gets all of them, validated.
"""

from __future__ import annotations

import copy
import itertools
import os
import pickle
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import run_warroom

from warroom.sessions import pending
from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    PoolFigure,
    SampleRollup,
    Server,
    Source,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.rollups import LazyRollups
from warroom.sessions.store import SessionError, Store, Written, load
from warroom.sessions.toml_codec import render_block, rollup_table

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ROLLUPS = 120


def rollup(i: int, server: str | None = None) -> SampleRollup:
    return SampleRollup(
        at=T0 + timedelta(seconds=10 * i),
        samples=10,
        conn_min=80 + i % 7,
        conn_mean=88.5 + i / 8,
        conn_max=97,
        max_connections=100,
        query_p50_ms=1.25,
        query_p95_ms=12.5 + i % 3,
        refused=i % 4,
        conn_last=90,
        usable=97,
        by_state=(("idle in transaction", 70), ("active", 12)),
        top_apps=(("shop-api", 70), ("billing \"eu\"", 8)),
        refused_by=(("too_many_connections", i % 4),) if i % 4 else (),
        tps=310.5,
        host_tcp=(("ESTABLISHED", 96),),
        bouncer_pools=(PoolFigure("orders/shop", 60, 14, 40, 0, 2.5),),
        server=server,
        role="replica" if server else None,
        lag_bytes=4096 * i if server else None,
        lag_s=0.5 if server else None,
        repl_state="streaming" if server else None,
    )


def rollup_blocks(data: bytes) -> list[bytes]:
    """Every ``[[samples]]`` block of a file, as written (a blank line, the header, its lines)."""
    starts = [m.start() for m in re.finditer(rb"\n\n\[", data)] + [len(data) - 1]
    blocks = [data[a + 1 : b + 1] for a, b in itertools.pairwise(starts)]
    return [block for block in blocks if block.startswith(b"\n[[samples]]\n")]


# A block as a hand (or an older writer) might have left it: valid, but not what encoding the
# rollup again gives (an integer for a float, a comment, no optional keys), so only a verbatim
# copy keeps it as it is.
HAND_WRITTEN = (
    b"\n[[samples]]\n"
    b"at = 2026-11-24 01:30:00+00:00  # checked against the pager by hand\n"
    b"seconds = 10\n"
    b"samples = 9\n"
    b'status = "partial"\n'
    b"refused = 1\n"
)


@pytest.fixture
def long_session(tmp_path: Path) -> Path:
    """Rollups (two servers for some) interleaved with entries, an action item, a hand edit."""
    path = tmp_path / "incidents" / "20261124-0100-orders.toml"
    servers = (Server("db1", "host=db1 dbname=orders"), Server("db2", "host=db2 dbname=orders"))
    target = Target(dsn="host=db1 dbname=orders", servers=servers)
    store = Store.create(path, Incident.create("orders DB refusing connections", T0, "SEV1",
                                               target))
    for batch in range(0, ROLLUPS, 30):
        store.append_samples([rollup(i, "db2" if i % 5 == 0 else None)
                              for i in range(batch, batch + 30)])
        store.append_entry(TimelineEntry(at=T0 + timedelta(minutes=batch), text=f"note {batch}",
                                         author="ana", source=Source.CLI))
        if batch == 30:
            with open(path, "ab") as handle:  # as if edited by hand between two writes
                handle.write(HAND_WRITTEN)
            store.refresh()
    store.append_action_item(ActionItem(text="alert on pool saturation", owner="ana"))
    store.append_entry(TimelineEntry(at=T0 + timedelta(hours=1), text="raised pool size",
                                     kind=Kind.ACTION))
    return path


def test_a_lazy_writer_never_decodes_and_every_rewrite_keeps_each_block_byte_identical(
    long_session: Path,
) -> None:
    before = long_session.read_bytes()
    blocks = rollup_blocks(before)
    assert len(blocks) == ROLLUPS + 1 and HAND_WRITTEN in blocks
    full = load(long_session).incident

    store = Store.open(long_session, lazy=True)
    samples = store.incident.samples
    assert isinstance(samples, LazyRollups) and samples.undecoded == ROLLUPS + 1
    first = store.incident.timeline[0].id
    store.append_entry(TimelineEntry(at=T0 + timedelta(hours=2), text="appended"))
    store.append_entry(TimelineEntry(at=T0 + timedelta(hours=2), text="detected",
                                     kind=Kind.DETECTION))  # sets detected_at: a rewrite
    store.update(lambda inc: inc.status_change(Status.IDENTIFIED, T0 + timedelta(hours=3)))
    store.update(lambda inc: inc.replace_entry(first, text="note 0, edited"))
    store.update(lambda inc: inc.remove_entry(first))
    store.update(lambda inc: inc.set_severity("SEV2"))

    after = long_session.read_bytes()
    assert after != before
    assert rollup_blocks(after) == blocks
    assert store.incident.samples.undecoded == ROLLUPS + 1, "nothing here reads the rollups"
    loaded = load(long_session)
    assert loaded.torn is None
    assert loaded.incident.samples == full.samples
    assert loaded.incident.severity == "SEV2" and loaded.incident.detected_at is not None
    assert [e.text for e in loaded.incident.timeline][-3:] == ["appended", "detected",
                                                              "status: investigating -> identified"]
    # What the lazy writer holds is the record: reading its rollups gives the file's.
    assert store.incident == loaded.incident
    assert store.incident.samples.undecoded == 0


def test_warroom_note_and_status_keep_every_rollup_block(long_session: Path,
                                                         tmp_path: Path) -> None:
    blocks = rollup_blocks(long_session.read_bytes())
    note = run_warroom("note", "--session", str(long_session), "pool at 100%", home=tmp_path,
                       check=True)
    assert rollup_blocks(long_session.read_bytes()) == blocks
    run_warroom("status", "--session", str(long_session), "monitoring", home=tmp_path,
                check=True)  # a rewrite
    assert rollup_blocks(long_session.read_bytes()) == blocks
    loaded = load(long_session).incident
    assert note.stdout.strip() in {e.id for e in loaded.timeline}
    assert loaded.status is Status.MONITORING
    check = run_warroom("check", str(long_session), home=tmp_path)
    assert check.returncode == 0, check.stderr
    assert f"{ROLLUPS + 1} sample rollups" in check.stdout


def test_rollups_another_writer_appends_are_kept_too_in_order(long_session: Path) -> None:
    blocks = rollup_blocks(long_session.read_bytes())
    lazy = Store.open(long_session, lazy=True)
    other = Store.open(long_session)  # the dashboard, say

    other.append_samples([rollup(i) for i in range(ROLLUPS, ROLLUPS + 3)])
    other.append_entry(TimelineEntry(at=T0 + timedelta(hours=2), text="from the dashboard"))
    with open(long_session, "ab") as handle:  # and another hand-written one
        handle.write(HAND_WRITTEN.replace(b"01:30:00", b"01:31:00"))
    other.append_samples([rollup(ROLLUPS + 3, "db2")])
    appended = rollup_blocks(long_session.read_bytes())[len(blocks):]
    assert len(appended) == 5

    assert [e.text for e in lazy.refresh()] == ["from the dashboard"]
    assert lazy.incident.samples.undecoded == ROLLUPS + 1 + 5
    lazy.update(lambda inc: inc.set_severity("SEV3"))  # a rewrite takes them all
    assert rollup_blocks(long_session.read_bytes()) == blocks + appended

    other.append_samples([rollup(ROLLUPS + 4)])  # picked up by the lazy writer's own write
    last = rollup_blocks(long_session.read_bytes())[-1]
    lazy.append_entry(TimelineEntry(at=T0 + timedelta(hours=3), text="detection",
                                    kind=Kind.DETECTION))  # a rewrite
    assert rollup_blocks(long_session.read_bytes()) == [*blocks, *appended, last]
    assert lazy.incident.samples.undecoded == ROLLUPS + 1 + 6
    assert load(long_session).incident == lazy.incident


def test_what_sharing_does_to_a_lazy_writer_leaves_the_rollups_as_read(
    long_session: Path,
) -> None:
    # Sharing merges others' entries (append_entries), watches every write (observe) and
    # keeps its journal in step under the lock (hold): none of it reads the rollups.
    blocks = rollup_blocks(long_session.read_bytes())
    store = Store.open(long_session, lazy=True)
    seen: list[Written] = []
    store.observe(seen.append)
    others = [TimelineEntry(at=T0 + timedelta(hours=2, minutes=i), text=f"from host b {i}",
                            author="bo@b", source=Source.CLI) for i in range(3)]
    assert store.append_entries(others) == others
    detection = TimelineEntry(at=T0 + timedelta(hours=3), text="paged", kind=Kind.DETECTION)
    assert store.append_entries([others[0], detection]) == [detection]  # a rewrite
    store.update(lambda inc: inc.set_severity("SEV2"))
    with store.hold() as incident:
        assert incident.detected_at == detection.at
    assert [w.appended for w in seen[:2]] == [tuple(others), (detection,)]
    assert seen[2].before is not None and seen[2].before.severity == "SEV1"
    assert rollup_blocks(long_session.read_bytes()) == blocks
    assert store.incident.samples.undecoded == ROLLUPS + 1
    assert load(long_session).incident == store.incident


def test_a_lazy_writer_follows_another_writers_rewrite(long_session: Path) -> None:
    lazy = Store.open(long_session, lazy=True)
    Store.open(long_session).update(lambda inc: inc.set_severity("SEV4"))  # a full writer
    lazy.append_entry(TimelineEntry(at=T0 + timedelta(hours=2), text="after the rewrite"))
    assert lazy.incident.severity == "SEV4"
    assert isinstance(lazy.incident.samples, LazyRollups)
    assert lazy.incident.samples.undecoded == ROLLUPS + 1
    assert load(long_session).incident == lazy.incident


def _malformed(path: Path) -> bytes:
    """The 4th rollup's conn_max made a string; returns that block as it is in the file."""
    data = path.read_bytes()
    block = rollup_blocks(data)[3]
    bad = block.replace(b"conn_max = 97\n", b'conn_max = "97"\n')
    assert bad != block
    path.write_bytes(data.replace(block, bad, 1))
    return bad


def test_check_names_a_malformed_rollup_and_a_writer_never_destroys_it(
    long_session: Path, tmp_path: Path
) -> None:
    bad = _malformed(long_session)
    place = r"line \d+: samples\[3\]\.conn_max: expected an integer, got a string"
    check = run_warroom("check", str(long_session), home=tmp_path)
    assert check.returncode == 1
    assert re.fullmatch(rf"warroom: error: {re.escape(str(long_session))}: {place}\n",
                        check.stderr), check.stderr
    with pytest.raises(SessionError, match=place):
        Store.open(long_session)  # a writer that reads the rollups refuses, as before

    # note and status do not read the rollups: they write, and keep the block as it is.
    run_warroom("note", "--session", str(long_session), "still noting", home=tmp_path,
                check=True)
    run_warroom("status", "--session", str(long_session), "identified", home=tmp_path,
                check=True)
    assert rollup_blocks(long_session.read_bytes())[3] == bad
    check = run_warroom("check", str(long_session), home=tmp_path)
    assert check.returncode == 1 and re.search(place, check.stderr), check.stderr


def test_reading_a_malformed_rollup_from_a_lazy_writer_names_it_and_keeps_it(
    long_session: Path,
) -> None:
    bad = _malformed(long_session)
    store = Store.open(long_session, lazy=True)
    with pytest.raises(SessionError, match=r"line \d+: samples\[3\]\.conn_max: expected an"):
        len(store.incident.samples)
    assert store.incident.samples.undecoded == ROLLUPS + 1, "still the file's bytes"
    store.update(lambda inc: inc.set_severity("SEV3"))
    assert rollup_blocks(long_session.read_bytes())[3] == bad


def test_readers_of_a_lazy_writer_get_every_rollup(long_session: Path) -> None:
    full = load(long_session).incident
    store = Store.open(long_session, lazy=True)
    samples = store.incident.samples
    assert samples.undecoded == ROLLUPS + 1
    assert len(samples) == ROLLUPS + 1 and samples.undecoded == 0
    assert samples == full.samples and list(samples) == full.samples
    assert [r.server for r in samples][:6] == ["db2", None, None, None, None, "db2"]
    by_hand = [r for r in samples if r.status == "partial"]
    assert len(by_hand) == 1 and by_hand[0].seconds == 10.0 and by_hand[0].samples == 9
    # Decoded, they are written as any writer writes them; the record stays the same.
    store.append_samples([rollup(ROLLUPS)])
    store.update(lambda inc: inc.set_severity("SEV3"))
    assert load(long_session).incident.samples == [*full.samples, rollup(ROLLUPS)]


@pytest.mark.parametrize("where", ["rollup last", "entry last"])
def test_a_lazy_open_recovers_a_torn_append(long_session: Path, where: str) -> None:
    base = load(long_session).incident
    before = long_session.read_bytes()
    writer = Store.open(long_session)
    if where == "rollup last":
        writer.append_samples([rollup(ROLLUPS, "db2")])
    else:
        writer.append_entry(TimelineEntry(at=T0, text="half"))
    block = long_session.read_bytes()[len(before):]
    for cut in sorted({1, 2, 12, 13, 14, *range(20, len(block), 37), len(block) - 1}):
        long_session.write_bytes(before + block[:cut])
        store = Store.open(long_session, lazy=True)
        if cut > 1:  # more than the blank line made it
            assert store.recovered_to is not None, cut
            assert store.recovered_to.read_bytes() == block[1:cut]
            store.recovered_to.unlink()
        assert long_session.read_bytes() == before + block[:1], cut
        assert store.incident == base, cut
        assert load(long_session).torn is None
    long_session.write_bytes(before + block)
    store = Store.open(long_session, lazy=True)
    assert store.recovered_to is None
    assert store.incident == load(long_session).incident


def test_a_torn_rollup_another_writer_left_is_cut_off_not_kept(long_session: Path) -> None:
    lazy = Store.open(long_session, lazy=True)
    before = long_session.read_bytes()
    block = render_block("samples", rollup_table(rollup(ROLLUPS)))
    with open(long_session, "ab") as handle:  # the dashboard killed mid-append
        handle.write(block[: block.index(b"refused = ")])  # whole lines, the last key missing
    lazy.append_entry(TimelineEntry(at=T0, text="after the crash"))
    assert lazy.recovered_to is not None
    assert long_session.read_bytes().startswith(before)
    assert rollup_blocks(long_session.read_bytes()) == rollup_blocks(before)
    assert load(long_session).incident == lazy.incident


def test_a_pending_file_with_entries_only_leaves_the_rollups_undecoded(
    long_session: Path,
) -> None:
    blocks = rollup_blocks(long_session.read_bytes())
    entry = TimelineEntry(at=T0 + timedelta(hours=2), text="queued by a dead dashboard")
    _leave_pending(long_session, pending.Pending(entries=[(entry, False)]))
    store = Store.open(long_session, lazy=True)
    assert store.pending_added == 1
    assert store.incident.samples.undecoded == ROLLUPS + 1
    assert rollup_blocks(long_session.read_bytes()) == blocks
    assert load(long_session).incident.timeline[-1] == entry


def test_a_pending_file_with_rollups_merges_them_by_window(long_session: Path) -> None:
    full = load(long_session).incident
    early = rollup(-1)  # before every other window: merged in order
    again = rollup(5, "db2")  # a window (and server) the record has already
    _leave_pending(long_session, pending.Pending(samples=[again, early]))
    store = Store.open(long_session, lazy=True)
    assert store.pending_added == 1
    loaded = load(long_session).incident
    assert loaded.samples == sorted([early, *full.samples], key=lambda r: r.at)
    assert loaded == store.incident


def _leave_pending(path: Path, kept: pending.Pending) -> None:
    """A pending file as a writer that died left it (its pid is gone)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    target = pending.pending_path(path, int(child.stdout))
    target.write_bytes(pending.render(kept))
    os.chmod(target, 0o600)


def test_an_older_schema_is_upgraded_with_every_rollup_decoded(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    shutil.copy(FIXTURES / "schema1-session.toml", path)
    old = load(path)
    assert old.schema == 1
    store = Store.open(path, lazy=True)
    store.append_entry(TimelineEntry(at=T0, text="after the upgrade"))
    upgraded = load(path)
    assert upgraded.schema == 2
    assert upgraded.incident.samples == old.incident.samples
    assert path.read_bytes().startswith(b"schema = 2\n")
    assert rollup_blocks(path.read_bytes()) == [
        render_block("samples", rollup_table(r)) for r in old.incident.samples
    ]


def _multi_line(quotes: bytes) -> Callable[[bytes], bytes]:
    """A note's text made a multi-line string holding lines that look like block headers."""
    text = b"note 30\n[[samples]]\nat = 1\n\n[[timeline]]\nnot a block"
    return lambda data: data.replace(b'text = "note 30"', b"text = " + quotes + text + quotes)


def _indented(data: bytes) -> bytes:
    """The 8th rollup's block moved to the end of a timeline block, its header indented."""
    block = rollup_blocks(data)[7]
    data = data.replace(block, b"", 1)
    end = data.index(b"\n\n[", data.index(b'text = "note 30"')) + 1
    return data[:end] + b"  " + block[1:] + data[end:]


@pytest.mark.parametrize("edit", [
    _multi_line(b'"""'),
    _multi_line(b"'''"),
    _indented,
    lambda data: data.replace(b"\n\n[[samples]]\n", b'\n\n[share]\ndsn = "host=ops"\n'
                              b"\n[[samples]]\n", 1),
    lambda data: data.replace(b"\n\n[[samples]]", b"\n[[samples]]", 1),
], ids=["multi-line string", "multi-line literal", "indented header", "table between blocks",
        "no blank line"])
def test_a_file_edited_out_of_warroom_layout_is_read_whole(long_session: Path, edit) -> None:
    # None of these is how warroom writes; all are TOML. Split at headers, they would hide
    # a block on one side or the other: read whole instead, they lose nothing.
    original = long_session.read_bytes()
    edited = edit(original)
    assert edited != original
    long_session.write_bytes(edited)
    full = load(long_session).incident
    store = Store.open(long_session, lazy=True)
    assert store.incident == full
    store.append_entry(TimelineEntry(at=T0, text="x", kind=Kind.DETECTION))  # a rewrite
    assert load(long_session).incident == store.incident


def test_lazy_rollups_is_a_list_that_decodes_on_first_use() -> None:
    rollups = [rollup(i) for i in range(4)]
    raw = [render_block("samples", rollup_table(r)) for r in rollups]

    def lazy() -> LazyRollups:
        return LazyRollups.of_blocks(raw)

    held = lazy()
    twin = held.copy()
    assert isinstance(twin, LazyRollups) and held.undecoded == twin.undecoded == 4
    assert copy.copy(held).undecoded == 4
    assert held.render() == b"".join(raw)
    assert held == rollups and held.undecoded == 0 and twin.undecoded == 4
    assert rollups == twin and twin.undecoded == 0
    assert rollups[:1] + lazy() == [rollups[0], *rollups]  # list + LazyRollups
    assert lazy() + rollups[:1] == [*rollups, rollups[0]]
    assert lazy()[1:3] == rollups[1:3]
    assert lazy() * 2 == 2 * lazy() == rollups * 2
    assert lazy() != rollups[:3]
    assert len(lazy()) == 4 and bool(lazy()) and not LazyRollups.of_blocks([])
    assert rollups[2] in lazy()
    assert list(reversed(lazy())) == rollups[::-1]
    assert sorted(lazy(), key=lambda r: -r.refused)[0] == rollups[3]
    assert pickle.loads(pickle.dumps(lazy())) == rollups
    assert copy.deepcopy(lazy()) == rollups
    grown = lazy()
    grown.extend(lazy())  # others' blocks, still bytes: they stay so
    assert grown.undecoded == 8
    assert grown == rollups + rollups
    grown.extend(lazy())
    assert grown.undecoded == 4, "after decoded ones, undecoded ones wait at the end"
    assert grown.render().endswith(b"".join(raw))
    assert grown == rollups * 3
    mixed = LazyRollups(rollups[:1])
    mixed.extend(lazy())
    assert mixed.render() == render_block("samples", rollup_table(rollups[0])) + b"".join(raw)
    cleared = lazy()
    cleared.clear()
    assert cleared == [] and cleared.render() == b""
