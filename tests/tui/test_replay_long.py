"""`warroom replay` of a long record: it opens on the rollups of the cursor's window and decodes
the rest afterwards, off the UI thread; what it draws is what a full read would draw."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tui_support import T0, new_store, pane_text, wait_for

from warroom.sessions.model import SampleRollup
from warroom.sessions.store import load
from warroom.tui.app import WarroomApp
from warroom.tui.session import replay_session

HOURS = 2
WINDOWS = HOURS * 360


def rollup(i: int) -> SampleRollup:
    """Window ``i``: its count and its busiest application are its own, so a pane names it."""
    return SampleRollup(
        at=T0 + timedelta(seconds=10 * i), samples=10, conn_min=i % 40, conn_mean=float(i % 40),
        conn_max=i % 40 + 1, conn_last=i % 40 + 1, max_connections=50, usable=47,
        query_p50_ms=1.0, query_p95_ms=2.0, query_max_ms=3.0, connect_max_ms=1.0,
        top_apps=((f"app-{i}", i % 40 + 1),), refused=0,
    )  # fmt: skip


def long_record(tmp_path: Path, edit: tuple[bytes, bytes] | None = None) -> Path:
    store = new_store(tmp_path)
    store.append_samples([rollup(i) for i in range(WINDOWS)])
    if edit is not None:
        data = store.path.read_bytes()
        assert data.count(edit[0]) == 1
        store.path.write_bytes(data.replace(*edit))
    return store.path


def shows_window(app: WarroomApp, i: int) -> bool:
    conns = pane_text(app.query_one("#connections"))
    return f"{i % 40 + 1}/47 usable" in conns and f"app-{i}" in conns


@pytest.mark.asyncio
async def test_a_long_record_opens_on_its_cursor_and_seeks_anywhere_before_and_after_decoding(
    tmp_path: Path,
) -> None:
    path = long_record(tmp_path)
    before = path.read_bytes()
    incident = load(path, lazy=True).incident  # as `warroom replay` reads it
    app = WarroomApp(replay_session(path, incident, at=T0 + timedelta(seconds=10 * 300 + 10)))
    # Only the cursor's window was read to open: most of the record is still bytes.
    assert app.clock.recordings[0].undecoded > WINDOWS - 100
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert shows_window(app, 300)
        await pilot.press("end")  # far from anything decoded: read on the way
        assert shows_window(app, WINDOWS - 1)
        await wait_for(pilot, lambda: app.clock.recordings[0].undecoded == 0)
        await pilot.press("home", "right")  # the first window's end
        assert shows_window(app, 0)
        app.clock.seek(T0 + timedelta(seconds=10 * 500 + 10))
        app.moved()
        await pilot.pause()
        assert shows_window(app, 500)
        assert not app._notifications
        await pilot.press("q")
    assert path.read_bytes() == before


@pytest.mark.asyncio
async def test_a_bad_rollup_in_a_long_record_is_named_and_the_rest_replays(
    tmp_path: Path,
) -> None:
    bad = 600
    at_bad = (T0 + timedelta(seconds=10 * bad)).strftime("%Y-%m-%d %H:%M:%S+00:00").encode()
    # The window's count becomes text: the line stays one `key = value`, the block is wrong.
    path = long_record(tmp_path, (b"at = " + at_bad + b"\nseconds = 10.0\nsamples = 10\n",
                                  b"at = " + at_bad + b'\nseconds = 10.0\nsamples = "ten"\n'))
    before = path.read_bytes()
    app = WarroomApp(replay_session(path, load(path, lazy=True).incident))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        assert shows_window(app, 0)
        await wait_for(pilot, lambda: any(f"samples[{bad}]" in str(n.message)
                                          for n in app._notifications))  # fmt: skip
        await pilot.press("end")
        assert shows_window(app, WINDOWS - 1)
        app.clock.seek(T0 + timedelta(seconds=10 * bad + 10))  # the bad window's end
        app.moved()
        await pilot.pause()
        assert shows_window(app, bad - 1)  # its window is left out: the one before shows
        await pilot.press("q")
    assert path.read_bytes() == before


@pytest.mark.asyncio
async def test_a_record_whose_blocks_do_not_say_their_window_plainly_is_read_whole(
    tmp_path: Path,
) -> None:
    # Edited by hand: a quoted key is the same TOML, but not the line the heads are read from.
    first = (T0).strftime("%Y-%m-%d %H:%M:%S+00:00").encode()
    path = long_record(tmp_path, (b"\nat = " + first + b"\n", b'\n"at" = ' + first + b"\n"))
    at = T0 + timedelta(seconds=10 * 700 + 10)
    app = WarroomApp(replay_session(path, load(path, lazy=True).incident, at=at))
    assert app.clock.blocks is None and app.clock.recordings[0].undecoded == 0
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert shows_window(app, 700)
        await pilot.press("q")
