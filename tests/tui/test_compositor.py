"""The dashboard's frames render only the changed rows, and send what Textual's frames send."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from tui_support import T0, Clock, make_app, new_store, sample, wait_for

from warroom.collectors.host import HostSample
from warroom.tui.compositor import BandCompositor, bands
from warroom.tui.messages import HostSampled


def test_bands_join_regions_that_share_a_row_and_span_the_screen() -> None:
    screen = Region(0, 0, 120, 40)
    found = bands([Region(30, 0, 8, 1), Region(2, 3, 10, 2), Region(60, 4, 5, 3),
                   Region(0, 38, 120, 5)], screen)  # fmt: skip
    assert found == [Region(0, 0, 120, 1), Region(0, 3, 120, 4), Region(0, 38, 120, 2)]
    assert bands([], screen) == []


@pytest.mark.asyncio
async def test_each_frame_sends_the_bytes_textuals_frame_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames: list[tuple[str, str]] = []
    ours = BandCompositor.render_partial_update

    def both(self: BandCompositor) -> ChopsUpdate | None:
        dirty = set(self._dirty_regions)
        theirs = Compositor.render_partial_update(self)
        self._dirty_regions.update(dirty)
        mine = ours(self)
        console = self_console[0]
        frames.append((theirs.render_segments(console) if theirs else "",
                       mine.render_segments(console) if mine else ""))  # fmt: skip
        return mine

    monkeypatch.setattr(BandCompositor, "render_partial_update", both)
    clock = Clock(T0)
    app = make_app(new_store(tmp_path), clock)
    self_console = [app.console]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen._compositor, BandCompositor)
        for i in range(8):
            clock.advance(1)
            # A load that moves: the header's clock, the counts, the latency figures and chart.
            app.feed(sample(clock(), total=30 + i * 3, query_ms=2.0 + i * 7,
                            apps=(("shop-api", 24 + i), ("billing", 4), ("psql", i))))  # fmt: skip
            if i == 3:
                app.post_message(HostSampled(HostSample(clock(), 42.0, 61.0, 0.0, 1, 1, 1)))
            before = len(frames)
            await wait_for(pilot, lambda before=before: len(frames) > before)
        await pilot.pause()
    sent = [mine for _, mine in frames if mine]
    assert len(sent) >= 8
    assert any("T+" in mine or "00:00:0" in mine for mine in sent)  # the clock went out
    for theirs, mine in frames:
        assert mine == theirs


@pytest.mark.asyncio
async def test_a_frame_renders_neither_the_timeline_nor_what_the_panes_hide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(T0)
    app = make_app(new_store(tmp_path), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        rendered: list[str] = []
        for widget in app.screen.walk_children(with_self=True):
            original = widget.render_lines

            def spy(crop: Region, widget: object = widget, original: object = original) -> object:
                rendered.append(type(widget).__name__)
                return original(crop)  # type: ignore[operator]

            monkeypatch.setattr(widget, "render_lines", spy)
        clock.advance(1)
        app.feed(sample(clock() + timedelta(seconds=0), query_ms=9.0))
        await wait_for(pilot, lambda: "IncidentHeader" in rendered)
        await pilot.pause()
    assert "LatencyPane" in rendered
    assert "TimelineTable" not in rendered
    assert "Screen" not in rendered and "Horizontal" not in rendered
