"""The dashboard's screen and layout containers, drawn as plain background.

Textual's compositor renders every widget whose clip overlaps the cells that changed, and a
widget whose clip holds it whole is rendered whole: each second the clock's digits changed,
the screen (40 lines), the panes' row and the timeline's column were rendered through the
styles cache line by line only to be covered by their children (a fifth of the frame, as
profiled). ``BLANK`` (Textual's own switch for a widget with no border and no content) draws
them as one blank strip repeated. They have no border, padding, keyline or content of their
own, so the picture is the same.
"""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.screen import Screen


class BlankScreen(Screen[None]):
    BLANK = True


class Row(Horizontal):
    BLANK = True


class Column(Vertical):
    BLANK = True
