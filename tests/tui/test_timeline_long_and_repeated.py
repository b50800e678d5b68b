"""The timeline under hostile records: an id twice, a 1 MB note, a note over the limit (issue 18).

Driven with Textual's pilot against real session files.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input
from textual.widgets.data_table import RowKey
from tui_support import T0, make_app, new_store, settled, wait_for

from warroom.sessions.model import NOTE_MAX_BYTES, Kind, Source, TimelineEntry
from warroom.sessions.store import Store, load
from warroom.tui.app import WarroomApp
from warroom.tui.session import replay_session
from warroom.widgets.timeline import FOLD_LINES, TimelineRow, TimelineTable

REPEAT = ('\n[[timeline]]\nid = "e-1"\nat = 2026-11-24T09:03:00Z\nkind = "note"\n'
          'text = "pool full (pasted again)"\nauthor = "bo"\nsource = "manual"\n')


def repeated(tmp_path: Path) -> Path:
    store = new_store(tmp_path)
    store.append_entry(TimelineEntry(at=T0 + timedelta(minutes=1), text="pool full",
                                     source=Source.CLI, id="e-1"))
    store.append_entry(TimelineEntry(at=T0 + timedelta(minutes=2), text="raised pool",
                                     kind=Kind.ACTION, source=Source.CLI))
    store.path.write_text(store.path.read_text() + REPEAT)
    return store.path


def shown(table: TimelineTable) -> list[str]:
    return [str(table.get_row_at(i)[4]) for i in range(table.row_count)]


@pytest.mark.asyncio
async def test_the_dashboard_shows_a_repeated_id_once_and_keeps_running(tmp_path: Path) -> None:
    path = repeated(tmp_path)
    app = make_app(Store.open(path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TimelineTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert shown(table) == ["pool full", "raised pool"]
        # Another shell appends the repeat once more, and a note: the table takes both reads.
        with path.open("a") as handle:
            handle.write(REPEAT)
        other = Store.open(path, lazy=True)
        other.append_entry(TimelineEntry(at=T0 + timedelta(minutes=4), text="from the CLI",
                                         source=Source.CLI))
        await wait_for(pilot, lambda: table.row_count == 3, timeout=5)
        assert shown(table) == ["pool full", "raised pool", "from the CLI"]
        await pilot.press("n", *"still here", "enter")
        await settled(pilot, app)
        assert "still here" in shown(table)
        await pilot.press("question_mark")
        assert app.screen.query("HelpPanel")
    assert app.return_code in (0, None)


@pytest.mark.asyncio
async def test_replay_shows_a_repeated_id_once(tmp_path: Path) -> None:
    path = repeated(tmp_path)
    app = WarroomApp(replay_session(path, load(path, lazy=True).incident, author="bo"))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TimelineTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert shown(table) == ["pool full", "raised pool"]
        await pilot.press("right", "enter")
        await pilot.pause()
        assert table.row_count == 2


@pytest.mark.asyncio
async def test_the_table_never_raises_on_a_repeated_key() -> None:
    # The widget alone: in the dashboard its own refresh (the record's rows) could come between
    # these rows and the assertion.
    class TableOnly(App[None]):
        def compose(self) -> ComposeResult:
            yield TimelineTable()

    app = TableOnly()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TimelineTable)
        row = TimelineRow("x", "09:00:00", "T+00:00:00", "note", "ana", "first")
        table.set_rows([row, TimelineRow("x", "09:01:00", "T+00:01:00", "note", "bo", "again")])
        table.set_rows([row, TimelineRow("y", "09:02:00", "T+00:02:00", "note", "bo", "y"),
                        TimelineRow("x", "09:03:00", "T+00:03:00", "note", "bo", "again")])
        await pilot.pause()
        assert shown(table) == ["first", "y"]


@pytest.mark.asyncio
async def test_a_1_mb_note_is_folded_the_keys_answer_and_enter_unfolds_it(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    big = " ".join(f"line{i} of a pasted log" for i in range(50_000))[:1_000_000]
    # An older record (or another host) may hold it: the limit is for what is typed now.
    text = store.path.read_text() + (
        '\n[[timeline]]\nid = "big"\nat = 2026-11-24T09:01:00Z\nkind = "note"\n'
        f'text = "{big}"\nauthor = "bo"\nsource = "manual"\n')
    store.path.write_text(text)
    app = make_app(Store.open(store.path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TimelineTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.rows[RowKey("big")].height == FOLD_LINES
        cell = str(table.get_row("big")[4])
        assert cell.startswith("line0 of a pasted log") and cell.endswith("1.0 MB, Enter unfolds")
        await pilot.press("question_mark")
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.press("n", *"still answering", "enter")
        await settled(pilot, app)
        assert table.row_count == 2
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        assert table.rows[RowKey("big")].height > FOLD_LINES
        assert "more not shown here" in str(table.get_row("big")[4])


@pytest.mark.asyncio
async def test_a_note_over_the_limit_is_refused_with_one_line_and_kept_in_the_box(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        box = app.query_one("#note", Input)
        box.value = "x" * (NOTE_MAX_BYTES + 1)
        await pilot.press("enter")
        await settled(pilot, app)
        assert box.value == "x" * (NOTE_MAX_BYTES + 1)
        messages = [n.message for n in app._notifications]
        assert any("the limit is 64 KiB" in m and "\n" not in m for m in messages), messages
    assert "timeline" not in tomllib.loads(store.path.read_text())
