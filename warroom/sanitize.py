"""Text from the database, from other responders and from files is data: one set of rules.

Every consumer (the widgets, the alert and finding texts, the postmortem draft, the web page)
strips the same characters, so a bidirectional override that the draft removes can never reach
the terminal through a widget. Plain Python: collectors, sessions and widgets all import it.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, cast

_NEWLINES = re.compile(r"\r\n?|[\x85\u2028\u2029]")
# Whole terminal escape sequences go, so "\x1b[31m" leaves no "[31m" litter behind.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Bidirectional marks and overrides make text display differently from what it says.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0/C1 controls except tab and newline, DEL, and the bidi controls: removed from multi-line text.
_CONTROL_KEEP_LINES = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
# Everything that is not one printable line (tab and newline included: a cell is one line).
_CONTROL_ONE_LINE = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def text_block(value: object) -> str:
    """Multi-line text kept as lines: newlines normalised, escapes and controls removed."""
    text = _NEWLINES.sub("\n", str(value))
    text = _ANSI.sub("", text)
    return _CONTROL_KEEP_LINES.sub("", text)


def one_line(value: object, limit: int | None = None) -> str:
    """One printable line: controls become spaces, runs of space collapse, long text ends in …"""
    text = _ANSI.sub("", str(value))
    text = _CONTROL_ONE_LINE.sub(" ", text)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


class TerminalText:
    """A text stream that passes on only what is safe to show on a terminal.

    The CLI's standard output and error go through one of these, so a title, a host name, a
    path or a server's message that carries an escape (``\\e]2;...\\a`` renames a tmux pane,
    ``\\e[41m`` paints it) or a bidi override reaches the terminal as plain text, whichever
    command prints it. Lines and tabs stay; an escape split across two writes loses its ESC
    either way, so nothing it says is obeyed. JSON and Markdown that are clean already pass
    unchanged.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text_block(text))
        return len(text)  # what print() and friends expect: all of it was taken

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        # flush, fileno, isatty, encoding, buffer...: the real stream's.
        return getattr(self._stream, name)


@contextlib.contextmanager
def terminal_streams() -> Iterator[None]:
    """stdout and stderr through ``TerminalText`` for the duration (one CLI command)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, TerminalText(sys.stdout))
    sys.stderr = cast(TextIO, TerminalText(sys.stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
