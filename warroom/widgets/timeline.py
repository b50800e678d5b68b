"""The incident timeline: newest at the bottom, one row per entry, the cursor selects for edits.

A long entry is folded to ``FOLD_LINES`` lines with a note of its size; Enter on it (DataTable's
"row selected") unfolds it. The table renders every visible cell again after each update (its
cell cache is keyed on an update counter), so a 1 MB note shown whole made every key cost
seconds: the folded cell is built from a prefix of the text, so what each frame costs does not
grow with the note's length. An unfolded entry shows up to ``UNFOLDED_CHARS`` (the longest note
warroom accepts, ``NOTE_MAX_BYTES``); an older record's longer note says how much is left out.

Rows with an id already shown are left out (the first is kept): the table refuses a second row
with one key, and a record may hold one twice (hand-edited or merged; ``warroom check`` names it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from warroom.formats import text_size
from warroom.sessions.model import NOTE_MAX_BYTES
from warroom.widgets.text import clean

TEXT_MIN = 20
# Narrower than this (a phone's SSH app), the T+ and who columns go and the kind is its mark
# alone: with them the text, what the responder typed, had no room left on screen.
COMPACT_BELOW = 64
FOLD_LINES = 4  # a longer entry shows its first lines until Enter unfolds it
UNFOLDED_CHARS = NOTE_MAX_BYTES


class Cell(Text):
    """A timeline cell: a Text the table does not measure.

    Every column has a fixed width (the text column's is set from the table's), so the width
    DataTable measures for each new cell (``Text.__rich_measure__``, tens of microseconds each,
    five cells per entry: most of building a long incident's timeline) is never used. Without
    the measure protocol Rich and Textual take the default width instead; rendering does not
    measure.
    """

    __rich_measure__ = None  # type: ignore[assignment]


def wrapped(value: str, style: str = "") -> Cell:
    """Entry text as data (no markup, no controls), allowed to wrap over a few lines."""
    return Cell(clean(value), style=style, overflow="fold")


def unique_rows(rows: Sequence[TimelineRow]) -> list[TimelineRow]:
    """``rows`` without those whose id came earlier (the table's row keys must be unique)."""
    seen: set[str] = set()
    out: list[TimelineRow] = []
    for row in rows:
        if row.id not in seen:
            seen.add(row.id)
            out.append(row)
    return out


def cell(value: str, style: str = "") -> Cell:
    """A one-line cell of text that is clean already (warroom's own, or through ``clean``)."""
    return Cell(value, style=style, no_wrap=True, overflow="ellipsis")


KIND_MARK: dict[str, tuple[str, str]] = {
    "note": ("·", ""),
    "action": ("!", "bold cyan"),
    "decision": (">", "bold blue"),
    "detection": ("*", "bold magenta"),
    "escalation": ("^", "bold yellow"),
    "misleading": ("?", "italic dark_orange"),
    "status": ("=", "bold green"),
    "alert": ("⚠", "bold red"),
    "metric": ("#", "cyan"),
    "resolution": ("✓", "bold green"),
    "finding": ("→", "bold yellow"),
    "change": ("~", "bold magenta"),
}


@dataclass(frozen=True, slots=True)
class TimelineRow:
    id: str
    time: str  # "09:12:33" in the zone the user chose
    offset: str  # "T+00:12:33"
    kind: str
    author: str
    text: str


class TimelineTable(DataTable[Text]):
    DEFAULT_CSS = """
    TimelineTable {
        height: 1fr;
        border: round $primary-darken-1;
        border-title-color: $text;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_header=True)
        self.border_title = "Timeline"
        self._rows: list[TimelineRow] = []
        self._unsized: list[TimelineRow] | None = None
        self._wanted: str | None = None
        self._unfolded: set[str] = set()  # ids of long entries Enter unfolded
        self._compact = False

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        self.add_column("time", key="time", width=8)
        if self._compact:
            self.add_column("", key="kind", width=1)
        else:
            self.add_column("T+", key="offset", width=10)
            self.add_column("kind", key="kind", width=12)
            self.add_column("who", key="who", width=7)
        self.add_column("text", key="text", width=TEXT_MIN)

    def on_resize(self) -> None:
        self.fit_text_column()
        # The note box opening shrinks the timeline: the newest entry must stay in view.
        self.call_after_refresh(self.follow)

    def fit_text_column(self) -> None:
        """Give the text column the rest of the width, so long notes wrap instead of scrolling."""
        text_key = ColumnKey("text")
        if text_key not in self.columns:
            return
        compact = 0 < self.size.width < COMPACT_BELOW
        if compact != self._compact:
            self._compact = compact
            if self._unsized is None:  # the rows shown are built again below, in new columns
                self._unsized, self._wanted = self._rows, self.selected_id
                self._rows = []
            self.clear(columns=True)
            self._add_columns()
        fixed = sum(c.get_render_width(self) for k, c in self.columns.items() if k != text_key)
        # One cell for the vertical scrollbar, which appears once the timeline is long.
        width = max(self.size.width - fixed - 2 * self.cell_padding - 1, TEXT_MIN)
        column = self.columns[text_key]
        if self._unsized is not None:
            # The first rows arrived before the table had a size: build them once, now.
            column.width = width
            rows, self._unsized = self._unsized, None
            self.set_rows(rows)
            if self._wanted is not None:
                self.select(self._wanted)
                self._wanted = None
        elif column.width != width:
            column.width = width
            rows = self._rows
            selected = self.selected_id
            following = not rows or self.cursor_row >= len(rows) - 1
            self._rows = []
            self.clear()
            self.set_rows(rows)
            if not following:
                self.select(selected)  # a rebuild keeps the selection where the user left it

    @property
    def selected_id(self) -> str | None:
        if not self._rows or self.cursor_row < 0 or self.cursor_row >= len(self._rows):
            return None
        return self._rows[self.cursor_row].id

    def set_rows(self, rows: Sequence[TimelineRow]) -> None:
        """Show ``rows`` (already in time order); appends cost one row, anything else a rebuild.

        A row whose id came earlier is left out: the first is shown, whatever the caller sent.
        """
        rows = unique_rows(rows)
        if self.size.width == 0 or self._unsized is not None:
            self._unsized = rows  # built when the first resize gives the text column its width
            return
        if rows == self._rows:
            return
        following = not self._rows or self.cursor_row >= len(self._rows) - 1
        selected = self.selected_id
        if rows[: len(self._rows)] == self._rows:
            for row in rows[len(self._rows) :]:
                self._add(row)
        else:
            self.clear()
            for row in rows:
                self._add(row)
        self._rows = rows
        if not rows:
            return
        if following:
            self.move_cursor(row=len(rows) - 1)
            # Wrapped rows get their height at the next layout: scroll to the end again then,
            # or a batch of new rows leaves the newest one below the fold.
            self.call_after_refresh(self.follow)
        elif selected is not None:
            ids = [row.id for row in rows]
            if selected in ids:
                self.move_cursor(row=ids.index(selected))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter folds or unfolds a long entry (the event goes on to the app as well)."""
        entry_id = event.row_key.value
        row = next((r for r in self._rows if r.id == entry_id), None)
        if row is None or (entry_id not in self._unfolded and not self._folds(row)):
            return
        self._unfolded ^= {entry_id}
        rows = self._rows
        at = self.cursor_row
        self._rows = []
        self.clear()
        self.set_rows(rows)
        self.move_cursor(row=at)

    def select(self, entry_id: str | None) -> None:
        """Put the cursor on ``entry_id`` (replay marks the entry at its cursor)."""
        if self._unsized is not None:
            self._wanted = entry_id
            return
        ids = [row.id for row in self._rows]
        if entry_id in ids:
            row = ids.index(entry_id)
            if row != self.cursor_row:
                self.move_cursor(row=row)

    def follow(self) -> None:
        """Keep the newest entry in view when following (after a resize or a new row)."""
        if self._rows and self.cursor_row >= len(self._rows) - 1:
            self.move_cursor(row=len(self._rows) - 1)
            self.scroll_end(animate=False)

    def _text_width(self) -> int:
        column = self.columns.get(ColumnKey("text"))
        return max(column.width if column is not None else TEXT_MIN, 1)

    def _folds(self, row: TimelineRow) -> bool:
        """Does ``row`` show folded? (Cheap: its prefix only, wrapped.)"""
        return self._text(row, unfold=False)[2]

    def _text(self, row: TimelineRow, unfold: bool) -> tuple[Cell, int, bool]:
        """The text cell, the lines it takes, and whether part of the text is left out.

        Lines are measured here, once per row: left to the table (``height=None``) it renders
        every cell of every row to measure them, seconds for a long incident's timeline, and
        again after each resize. Only a prefix of the text is cleaned and wrapped, so a row
        costs the same for a 1 MB note as for a page.
        """
        style = "italic" if row.kind == "misleading" else ""
        width = self._text_width()
        raw = row.text
        if len(raw) <= width:
            text = wrapped(raw, style)
            if cell_len(text.plain) <= width:
                return text, 1, False  # most notes are short: no need to wrap them to know
        budget = UNFOLDED_CHARS if unfold else (FOLD_LINES + 1) * width
        cut = len(raw) > budget
        text = wrapped(raw[:budget] if cut else raw, style)
        lines = text.wrap(self.app.console, width)
        if unfold:
            if cut:
                text.append(f" … {text_size(len(raw) - budget)} more not shown here "
                            "(warroom postmortem prints it all)", style="dim")
                lines = text.wrap(self.app.console, width)
            return text, max(1, len(lines)), False
        if not cut and len(lines) <= FOLD_LINES:
            return text, max(1, len(lines)), False
        marker = f" … {text_size(len(raw))}, Enter unfolds"
        kept = lines[:FOLD_LINES]
        last = kept[-1]
        room = max(width - cell_len(marker), 0)
        last.truncate(room)
        last.rstrip()
        folded = Cell(style=style, overflow="fold")  # a Cell, as Text.join would not give
        for number, line in enumerate(kept):
            if number:
                folded.append("\n")
            folded.append_text(line)
        folded.append(marker, style="dim")
        return folded, len(kept), True

    def _add(self, row: TimelineRow) -> None:
        mark, style = KIND_MARK.get(row.kind, ("·", ""))
        text, height, _ = self._text(row, unfold=row.id in self._unfolded)
        if self._compact:
            self.add_row(cell(row.time), cell(mark, style=style), text, key=row.id, height=height)
            return
        self.add_row(
            cell(row.time),
            cell(row.offset, style="dim"),
            cell(f"{mark} {row.kind}", style=style),
            cell(clean(row.author), style="dim"),
            text,
            key=row.id,
            height=height,
        )
