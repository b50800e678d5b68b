"""Each second sends the terminal only what changed: the clock's digits, not the whole header.

Over SSH at 3 a.m. every byte is latency; these check what a refresh asks Textual to repaint.
"""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from tui_support import Clock, make_app, new_store, sample, wait_for

from warroom.collectors.host import HostSample
from warroom.tui.app import HostSampled
from warroom.widgets.header import HeaderPart, IncidentHeader
from warroom.widgets.host import HostPane
from warroom.widgets.pane import changed_span


def text(renderable: object) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def line(text: str, style: Style | None = None) -> Strip:
    return Strip([Segment(text, style)])


def test_changed_span_is_the_columns_that_differ() -> None:
    assert changed_span(line("T+00:12:34 09:12:34"), line("T+00:12:34 09:12:34")) is None
    start, end = changed_span(line("T+00:12:34 09:12:34"), line("T+00:12:35 09:12:35")) or (0, 0)
    # The seconds of both clocks, and everything between (one span per line), one cell of margin.
    assert (start, end) == (8, 20)
    assert changed_span(line("idle 4"), line("idle 4", Style(bold=True))) == (0, 7)


def test_changed_span_counts_wide_characters_as_two_cells() -> None:
    # "世" is two cells wide: the change after it is at cell 4, not at character 3.
    assert changed_span(line("ab世cd"), line("ab世xd")) == (3, 6)
    assert changed_span(line("ab世cd"), line("abxxcd")) == (1, 5)


@pytest.mark.asyncio
async def test_a_clock_second_repaints_only_the_clock(tmp_path: Path) -> None:
    clock = Clock()
    app = make_app(new_store(tmp_path), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        header = app.query_one(IncidentHeader)
        asked: dict[str, list[tuple[Region, ...]]] = {}
        for part in header.query(HeaderPart):  # severity and status, the clocks, the rest
            calls = asked.setdefault(part.id or "", [])
            real_refresh, real_set_dirty = part.refresh, part._set_dirty

            def spy(*regions: Region, calls=calls, real=real_refresh, **kwargs: bool) -> Any:
                calls.append(regions)
                return real(*regions, **kwargs)

            def spy_dirty(*regions: Region, calls=calls, real=real_set_dirty) -> None:
                calls.append(regions)  # the paint's own way to the screen (pane.py)
                real(*regions)

            part.refresh = spy  # type: ignore[method-assign]
            part._set_dirty = spy_dirty  # type: ignore[method-assign]
        clock.advance(1)
        app.tick()
        await pilot.pause()
        assert "T+00:12:35" in str(header.render())
        assert asked["header-lead"] == asked["header-tail"] == [], "an unchanged part repainted"
        clocks = asked["header-clock"]
        assert clocks and all(regions for regions in clocks), "the whole clocks part repainted"
        width = sum(r.width for regions in clocks for r in regions)
        assert width < 20 < header.size.width


@pytest.mark.asyncio
async def test_the_clock_moves_each_second_with_samples_and_without(tmp_path: Path) -> None:
    clock = Clock()
    app = make_app(new_store(tmp_path), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one(IncidentHeader)
        for n in range(1, 4):  # sampling every second: the sample moves the clock
            clock.advance(1)
            app.feed(sample(clock.now))
            app.tick()
            await pilot.pause()
            assert f"T+00:12:{34 + n}" in str(header.render())
        for n in range(1, 5):  # the database stalls: the tick alone moves it, and the age
            clock.advance(1)
            app.tick()
            await pilot.pause()
            assert f"T+00:12:{37 + n}" in str(header.render())
        assert "stale: last sample 4s ago" in text(app.query_one("#connections").render())


@pytest.mark.asyncio
async def test_samples_hold_the_tick_back_and_a_stall_lets_it_move_the_clock(
    tmp_path: Path,
) -> None:
    clock = Clock()
    app = make_app(new_store(tmp_path), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one(IncidentHeader)
        ticked = asyncio.Event()
        real_tick = app.tick

        def spy() -> None:
            ticked.set()
            real_tick()

        app.tick = spy  # type: ignore[method-assign]
        loop = asyncio.get_running_loop()
        for _ in range(3):  # a sample each second: each one puts the tick back past the next
            clock.advance(1)
            app.feed(sample(clock.now))
            handle = app._tick_handle
            assert handle is not None and handle.when() - loop.time() > 1.0
        await pilot.pause()
        assert "T+00:12:37" in str(header.render())
        clock.advance(4)  # the database stalls: no more samples
        await asyncio.wait_for(ticked.wait(), timeout=10)
        await pilot.pause()
        assert "T+00:12:41" in str(header.render())
        assert "stale: last sample 4s ago" in text(app.query_one("#connections").render())


@pytest.mark.asyncio
async def test_long_and_wide_names_are_cut_to_the_pane_with_counts_aligned(tmp_path: Path) -> None:
    clock = Clock()
    app = make_app(new_store(tmp_path), clock)
    apps = (("x" * 200, 9), ("世界" * 40, 3), ("psql", 1))
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(sample(clock.now, apps=apps))
        await pilot.pause()
        pane = app.query_one("#connections")
        width = pane.content_size.width
        shown = str(pane.render()).splitlines()
        rows = [row for row in shown if row.rstrip().endswith(("9", "3", "1"))][-3:]
        assert [row[-6:] for row in rows] == ["     9", "     3", "     1"]
        assert "…" in rows[0] and "…" in rows[1]
        assert all(pane.render_line(y).cell_length == width for y in range(len(shown)))


class QuietHost:
    """A host collector that has nothing to say until the test ends."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def sample(self) -> HostSample:
        self.release.wait(30)
        raise RuntimeError("released")

    def close(self) -> None:
        self.release.set()


@pytest.mark.asyncio
async def test_a_behind_ui_shows_the_newest_host_figures_once(tmp_path: Path) -> None:
    clock = Clock()
    host = QuietHost()
    app = make_app(new_store(tmp_path), clock, host=host)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.query_one(HostPane)
            views: list[object] = []
            real_set_view = pane.set_view

            def spy(view: object) -> None:
                views.append(view)
                real_set_view(view)  # type: ignore[arg-type]

            pane.set_view = spy  # type: ignore[method-assign]
            for cpu in (10.0, 20.0, 30.0):  # three arrive while the UI is busy
                app.post_message(HostSampled(HostSample(clock.now, cpu, 40.0, 0.0, 1, 1, 1)))
            # Drawn with the next frame the dashboard makes anyway: here, without samples, the
            # clock's tick.
            await wait_for(pilot, lambda: "cpu   30%" in str(pane.render()))
            assert len(views) == 1
            app.post_message(HostSampled(HostSample(clock.now, 50.0, 40.0, 0.0, 1, 1, 1)))
            await pilot.pause()
            app.feed(sample(clock.now))  # a sample's frame takes them along
            await pilot.pause()
            assert "cpu   50%" in str(pane.render()) and len(views) == 2
    finally:
        host.close()


@pytest.mark.asyncio
async def test_panes_covered_by_another_screen_do_not_paint_and_catch_up_after(
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    from warroom.tui.screens.postmortem import PostmortemScreen
    from warroom.widgets.connections import ConnectionsPane

    clock = Clock()
    app = make_app(new_store(tmp_path), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(sample(clock.now, total=12))
        await pilot.pause()
        pane = app.query_one(ConnectionsPane)
        assert "12/47" in text(pane.rendered)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PostmortemScreen))
        shown = pane._strips
        for n in range(1, 6):
            clock.advance(1)
            app.feed(sample(clock.now, total=12 + n))
            await pilot.pause()
        # Nothing of the covered dashboard is painted (it would land on the draft's cells).
        assert pane._strips is shown
        await pilot.press("escape")
        clock.advance(1)
        app.feed(sample(clock.now + timedelta(seconds=0), total=30))
        await pilot.pause()
        assert "30/47" in text(pane.rendered)
