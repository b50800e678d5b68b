"""Widgets that repaint only the cells that changed: the dashboard's panes and its header.

Over a slow SSH link the bytes a refresh sends are what the responder pays for, and writing them
is most of what a refresh costs the CPU. A painted widget keeps the strips it last painted and
asks Textual to repaint only the span of each line that differs (the clock's digits, a count, the
newest chart column); a view whose picture did not change (same ``display_key``) costs nothing at
all. Painting is deferred to the end of the current loop turn, so a burst of views (a resumed
session, a replay) paints once.

A view rendered as a list of one-line ``Text`` objects is turned into strips directly, a few
times cheaper than Textual's general path through Rich's layout (a grid ``Table`` costs more
than everything else a second of the dashboard does); any other renderable takes that path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.dom import NoScreen
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget

LEVEL_STYLE = {"ok": "green", "warning": "yellow", "critical": "bold red", "down": "bold red"}

V = TypeVar("V")


def cells(segments: Iterable[Segment]) -> list[object]:
    """One comparable item per terminal cell (a wide character's second cell is None)."""
    out: list[object] = []
    for text, style, _ in segments:
        for char in text:
            out.append((char, style))
            if char > "\x7f" and cell_len(char) > 1:
                out.append(None)
    return out


def changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """The columns [start, end) where two lines differ, or None when they look the same."""
    if old is new or old == new:
        return None
    a_segs, b_segs = list(old), list(new)
    # Whole segments alike at either end are skipped without a look at their cells: a refresh
    # usually changes a figure or two in a line of a dozen segments.
    head = 0
    col = 0
    limit = min(len(a_segs), len(b_segs))
    while head < limit and a_segs[head] == b_segs[head]:
        col += cell_len(a_segs[head].text)
        head += 1
    tail = 0
    while tail < limit - head and a_segs[-1 - tail] == b_segs[-1 - tail]:
        tail += 1
    a = cells(a_segs[head : len(a_segs) - tail])
    b = cells(b_segs[head : len(b_segs) - tail])
    if a == b:
        return None
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    # One cell either side: a wide character cut at the edge of a span repaints whole.
    return max(col + start - 1, 0), col + max(end_a, end_b) + 1


# Widgets whose paint is due, by app: one callback paints them all at the end of the loop turn.
# A callback per widget cost each of them a message and Textual's signature() of the callable,
# four times a second for the dashboard's panes, more than some panes' paint itself.
_DUE: WeakKeyDictionary[App[Any], list[Painted[Any]]] = WeakKeyDictionary()


# Apps inside a ``painting`` block: their paints are done when it ends, not by a callback.
_HELD: WeakKeyDictionary[App[Any], int] = WeakKeyDictionary()


def _schedule_paint(widget: Painted[Any]) -> None:
    app = widget.app
    due = _DUE.setdefault(app, [])
    if not due and not _HELD.get(app):
        app.call_later(_paint_due, due)
    due.append(widget)


@contextmanager
def painting(app: App[Any]) -> Iterator[None]:
    """The views set inside are painted as the block ends, in the same loop turn.

    For the handlers that set a second's views (a sample, the clock's tick): the deferred
    paint went through a callback message of its own each second, which cost the dashboard
    more than some panes' paint. A view set outside such a block is still deferred."""
    _HELD[app] = _HELD.get(app, 0) + 1
    try:
        yield
    finally:
        _HELD[app] -= 1
        due = _DUE.get(app)
        if due and not _HELD[app]:
            _paint_due(due)


def _paint_due(due: list[Painted[Any]]) -> None:
    widgets = due[:]
    due.clear()  # a paint that sets a view again (a resize) schedules the next turn
    screens: list[Any] = []
    for widget in widgets:
        if widget.is_attached:
            regions = widget._paint()
            if regions and not _mark_dirty(widget, regions, screens):
                widget.refresh(*regions)
        else:  # removed before its turn, or not mounted yet (its resize paints it)
            widget._scheduled = False
    for screen in screens:
        screen.check_idle()


def _mark_dirty(widget: Widget, regions: list[Region], screens: list[Any]) -> bool:
    """What ``refresh(*regions)`` leads to, without its detour: refresh wakes the widget's own
    message loop (a Prompt), whose idle handler then posts Update to the screen, which adds the
    widget to the screen's dirty set and wakes the screen. Done here, a second's painted
    widgets cost the screen one wake-up together, not two messages and two loop turns each.
    Uses Textual's private ``_set_dirty`` and the screen's ``_dirty_widgets``: False (the
    caller refreshes as usual) where they differ."""
    try:
        screen = widget.screen
        dirty = screen._dirty_widgets
        set_dirty = widget._set_dirty
    except (AttributeError, NoScreen):
        return False
    if not isinstance(dirty, set) or screen not in screen._compositor:
        return False
    set_dirty(*regions)
    dirty.add(widget)
    if screen not in screens:
        screens.append(screen)
    return True


class Painted(Widget, Generic[V]):
    """Shows one view (plain, comparable data); subclasses say how it looks at a given size."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: V | None = None
        self._rendered: RenderableType | list[Text] = ""
        self._last_key: object = None
        self._strips: list[Strip] = []
        self._strip_size = (0, 0)
        self._line_cache: dict[object, Strip] = {}
        self._scheduled = False
        self._lines_memo: tuple[object, int, list[Strip]] | None = None

    def set_view(self, view: V) -> None:
        self.view = view
        if not self._scheduled:
            self._scheduled = True
            _schedule_paint(self)

    def visible_now(self) -> bool:
        """On the top screen, or under one that lets it show through (a modal dialog)."""
        top = self.app.screen
        return self.screen is top or top.styles.background.a < 1

    def display_key(self, view: V, width: int) -> object:
        """What the widget shows, cheaply: equal keys mean an identical picture (no render)."""
        return view

    def render_view(self, view: V, width: int, height: int) -> RenderableType | list[Text]:
        """The picture: a list of one-line Texts (the fast path), or any Rich renderable."""
        raise NotImplementedError

    @property
    def rendered(self) -> RenderableType:
        """What the widget shows now, as one renderable (tests and `render` read it)."""
        picture = self._rendered
        return Text("\n").join(picture) if isinstance(picture, list) else picture

    def render(self) -> RenderableType:
        return self.rendered

    def _paint(self) -> list[Region]:
        """Render the view if its picture changed; the regions whose cells changed (a change of
        size or line count is refreshed whole here and returns none)."""
        self._scheduled = False
        view = self.view
        if view is None:
            return []
        if not self.visible_now():
            # Covered by another screen: a region refresh would land on that screen's cells
            # (the backends or draft view showed chart columns at its edge). The view is kept;
            # the first paint after the screen is back sends what changed.
            return []
        width = max(self.content_size.width, 10)
        height = max(self.content_size.height, 1)
        key = (self.display_key(view, width), width, height)
        if key == self._last_key:
            return []
        self._last_key = key
        picture = self._rendered = self.render_view(view, width, height)
        if isinstance(picture, list):
            strips = self._line_strips(picture[:height], width)
        else:
            visual = visualize(self, picture, markup=False)
            strips = Visual.to_strips(self, visual, width, height, self.visual_style)
        old, self._strips = self._strips, strips
        if self._strip_size != (width, height) or len(old) != len(strips):
            self._strip_size = (width, height)
            self.refresh()
            return []
        regions = []
        for y, (before, after) in enumerate(zip(old, strips, strict=True)):
            span = changed_span(before, after)
            if span is not None:
                start, end = span
                regions.append(Region(start, y, min(end, width) - start, 1))
        return regions

    def _line_strips(self, lines: list[Text], width: int) -> list[Strip]:
        console = self.app.console
        # Textual keeps this one cached by the widget's styles; `rich_style` walks the
        # ancestors' styles on every call (an eighth of a paint, as profiled).
        base = self.visual_style.rich_style
        strips = []
        # Most lines of a pane read as they did a second ago: their strips are kept, by what
        # the line holds, from one paint to the next.
        known, self._line_cache = self._line_cache, {}
        for line in lines:
            key = (line.plain, tuple(line.spans), line.style, line.overflow, width, base)
            strip = known.get(key)
            if strip is None:
                strip = self._line_strip(line, width, console, base)
            self._line_cache[key] = strip
            strips.append(strip)
        return strips

    def _line_strip(self, line: Text, width: int, console: Console, base: Style) -> Strip:
        if "\n" in line.plain:  # one Text, one terminal line: never a raw newline
            line = line.split("\n")[0]
        if line.cell_len > width:
            line = line.copy()
            line.truncate(width, overflow=line.overflow or "ellipsis")
        # Text.render leaves out the Text's own style when it has no spans: add it here.
        style = base + console.get_style(line.style) if line.style else base
        segments = Segment.apply_style(line.render(console, end=""), style)
        return Strip(segments).extend_cell_length(width, base)

    def render_lines(self, crop: Region) -> list[Strip]:
        """What Textual's styles cache returns, without its per-call work when nothing changed.

        The compositor renders every widget its changed cells' bounding box touches, whole, each
        second: a pane whose lines are all cached still cost the styles cache 50 us of colours,
        titles and filters. The lines it keeps only change after a ``_set_dirty`` (a refresh, a
        style or size change, a paint) marks lines dirty or clears it, and that is what is
        checked here, with the app's line filters (the theme's colours, NO_COLOR).
        Uses the cache's private ``_dirty_lines`` and ``_cache``: where they differ, no memo."""
        cache = self._styles_cache
        try:
            dirty, lines = cache._dirty_lines, cache._cache
        except AttributeError:
            return super().render_lines(crop)
        memo = self._lines_memo
        # Filters are replaced, or switched on or off, when the theme changes (a new object).
        key = (crop, self.outer_size, tuple(self.get_line_filters()))
        if memo is not None and not dirty and memo[0] == key and memo[1] == len(lines):
            return memo[2]
        strips = super().render_lines(crop)
        self._lines_memo = (key, len(lines), strips)
        return strips

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.visual_style.rich_style)

    def on_resize(self) -> None:
        if self.view is not None:
            self.set_view(self.view)


class Pane(Painted[V]):
    """A bordered, titled painted widget: one pane of the dashboard."""

    DEFAULT_CSS = """
    Pane {
        border: round $primary-darken-1;
        border-title-color: $text;
        padding: 0 1;
        height: 100%;
    }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
