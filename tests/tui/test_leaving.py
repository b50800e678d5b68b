"""Ways out of a view or the dashboard: nothing typed is dropped unasked; Escape closes help."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from tui_support import make_app, new_store, settled, wait_for

from warroom.tui.screens.confirm import ConfirmScreen


def notes_on_disk(path: Path) -> list[str]:
    return [e["text"] for e in tomllib.loads(path.read_text()).get("timeline", [])]


@pytest.mark.asyncio
@pytest.mark.parametrize("quit_key", ["q", "ctrl+q"])
async def test_quitting_with_an_unsaved_note_asks_and_no_goes_back_to_it(
    tmp_path: Path, quit_key: str
) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", *"replica lag looks like", "escape")  # hidden, draft kept
        await pilot.press(quit_key)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.is_running
        await pilot.press(quit_key)  # asked already: a second quit key does not stack dialogs
        assert len(app.screen_stack) == 2
        await pilot.press("n")
        note = app.query_one("#note")
        assert not isinstance(app.screen, ConfirmScreen) and app.is_running
        assert note.display and app.focused is note and note.value == "replica lag looks like"
        await pilot.press(*" the cause", "enter")  # finish it and save it: q quits unasked
        await settled(pilot, app)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert notes_on_disk(store.path) == ["replica lag looks like the cause"]


@pytest.mark.asyncio
async def test_quitting_with_an_unsaved_note_drops_it_only_when_told(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", *"half a thought", "escape", "q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "half a thought" in str(app.screen.question)  # type: ignore[attr-defined]
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)
    assert notes_on_disk(store.path) == []


@pytest.mark.asyncio
async def test_quitting_with_the_note_box_empty_does_not_ask(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "escape", "q")
        await wait_for(pilot, lambda: not app.is_running)


@pytest.mark.asyncio
async def test_escape_closes_the_help_panel(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert app.screen.query("HelpPanel")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.query("HelpPanel"))
        assert app.is_running
        # With the note box open, Escape still hides the box first (and keeps the draft).
        await pilot.press("question_mark", "n", *"draft", "escape")
        assert not app.query_one("#note").display and app.screen.query("HelpPanel")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.query("HelpPanel"))
        assert app.query_one("#note").value == "draft"
