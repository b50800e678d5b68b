"""The incident form's contributing factors (issue 23): one per line, kept as a list in the
record, shown in the draft; an untouched form changes nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.widgets import TextArea
from tui_support import make_app, new_store, settled

from warroom.sessions.store import load


@pytest.mark.asyncio
async def test_factors_typed_one_per_line_become_the_records_list(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        form = app.screen
        # Blank lines and a repeat are what typing leaves; the record keeps each factor once.
        form.query_one("#contributing_factors", TextArea).text = (
            "no pool cap per host\n\n  no alert on idle in transaction  \nno pool cap per host\n"
        )
        await pilot.press("ctrl+s")
        assert app.screen is not form
        await settled(pilot, app)
        on_disk = tomllib.loads(store.path.read_text())["incident"]["contributing_factors"]
        assert on_disk == ["no pool cap per host", "no alert on idle in transaction"]
        incident = load(store.path).incident
        assert any("contributing_factors" in e.text for e in incident.timeline)

        # Opened again: the factors are there, and saving unchanged writes nothing new.
        before = store.path.read_bytes()
        await pilot.press("i")
        form = app.screen
        shown = form.query_one("#contributing_factors", TextArea).text
        assert shown.splitlines() == ["no pool cap per host", "no alert on idle in transaction"]
        await pilot.press("ctrl+s")
        await settled(pilot, app)
        assert store.path.read_bytes() == before


@pytest.mark.asyncio
async def test_clearing_the_factors_leaves_the_file_as_one_that_never_had_them(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path)
    store.update(lambda inc: inc.apply_changes({"contributing_factors": ["a factor"]},
                                               inc.started_at))  # fmt: skip
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        form = app.screen
        form.query_one("#contributing_factors", TextArea).text = ""
        await pilot.press("ctrl+s")
        await settled(pilot, app)
        assert "contributing_factors" not in tomllib.loads(store.path.read_text())["incident"]
        assert load(store.path).incident.contributing_factors == ()
