"""A frame that renders only the rows that changed, for the dashboard's screen.

Textual draws a partial frame from one crop, the box around every changed region, and renders
every widget that box touches at full height. Each second the dashboard changes the header's
clock (row 0) and a few cells of the panes below, so the box spans the screen's top half and
every frame rendered all the panes, their container and the screen at full height, and often
the timeline too (half of what an idle dashboard cost the CPU, as profiled). Here the changed
regions are grouped into bands of rows (regions that share a row share a band), and each band
renders only the changed rows of the widgets it crosses, at their full width (a widget's edges
are where Textual cuts a line, so columns are left as Textual has them), and not at all a widget
hidden there by those in front of it (the screen and the panes' container). The bytes sent are
the same: the spans are Textual's own, from all the regions at once.

Built on Textual's Compositor internals (``_render_chops``, ``_regions_to_spans``, ``cuts``),
which pyproject pins below Textual 9; tests/tui/test_compositor.py compares its frames with
Textual's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip


def bands(regions: Iterable[Region], screen: Region) -> list[Region]:
    """Full-width bands of rows covering ``regions`` within ``screen``, one per run of rows."""
    spans = sorted((r.y, r.bottom) for r in regions if r.height and r.width)
    out: list[tuple[int, int]] = []
    for top, bottom in spans:
        if out and top <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], bottom))
        else:
            out.append((top, bottom))
    found = [Region(0, top, screen.width, bottom - top).intersection(screen) for top, bottom in out]
    return [band for band in found if band.height]


class BandCompositor(Compositor):
    def render_partial_update(self) -> ChopsUpdate | None:
        regions = self._dirty_regions.copy()
        self._dirty_regions.clear()
        if not regions:
            return None
        spans = list(self._regions_to_spans(regions))
        rendered = {y for y, _, _ in spans}
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1])
                                                for cut_set in self.cuts]  # fmt: skip
        for band in bands(regions, self.size.region):
            self._fill_band(band, rendered, chops)
        chop_ends = [cut_set[1:] for cut_set in self.cuts]
        return ChopsUpdate(chops, spans, chop_ends)

    def _fill_band(
        self, band: Region, rendered: set[int], chops: list[dict[int, Strip | None]]
    ) -> None:
        """Textual's ``_render_chops`` for the band's rendered rows: widgets front to back,
        each filling the pieces of line no widget in front of it filled. A widget with nothing
        left to fill (the screen and the panes' container behind the panes) is not rendered."""
        cuts = self.cuts
        for widget, (region, clip) in list(self.visible_widgets.items()):
            if not band.overlaps(clip):
                continue
            area = region.intersection(clip.intersection(band))
            x, y, width, height = area
            if not (width and height):
                continue
            first_cut, last_cut = area.column_span
            rows = {row: [cut for cut in cuts[row] if last_cut >= cut >= first_cut]
                    for row in range(y, y + height) if row in rendered}  # fmt: skip
            todo = [row for row, mine in rows.items()
                    if any(chops[row].get(cut) is None for cut in mine[:-1])]  # fmt: skip
            if not todo:
                continue
            top, bottom = todo[0], todo[-1] + 1
            strips = widget.render_lines(Region(x - region.x, top - region.y, width, bottom - top))
            for row, strip in zip(range(top, bottom), strips, strict=False):
                mine = rows.get(row)
                if mine is None:
                    continue
                line = chops[row]
                for cut, piece in zip(mine, strip.divide([c - x for c in mine[1:]]),
                                      strict=False):  # fmt: skip
                    if line.get(cut) is None:
                        line[cut] = piece


def use_band_frames(screen: Screen[Any]) -> Screen[Any]:
    """``screen``, drawing its partial frames band by band (before it is mounted)."""
    screen._compositor = BandCompositor()
    return screen
