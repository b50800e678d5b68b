"""One set of rules for hostile text: the widgets, the alerts and the draft all strip the same."""

from __future__ import annotations

import pytest

from warroom.collectors.alerts import _one_line
from warroom.sanitize import one_line, text_block
from warroom.sessions.postmortem import clean as draft_clean
from warroom.widgets.text import clean as widget_clean
from warroom.widgets.text import literal

HOSTILE = [
    "evil\u202eexe.txt",  # right-to-left override: displays as "evil" + "txt.exe"
    "a\u2066b\u2069c",  # isolates
    "x\u200fy",  # right-to-left mark
    "red\x1b[31mtext",  # CSI colour
    "bell\x07here",
    "c1\x9bstart",
    "nul\x00byte",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_consumer_strips_controls_and_bidi(text: str) -> None:
    for cleaned in (one_line(text), widget_clean(text), _one_line(text), draft_clean(text),
                    text_block(text), literal(text).plain):
        assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in cleaned)
        assert not set(cleaned) & set("\u202e\u2066\u2069\u200f\u061c")
        assert "[31m" not in cleaned


def test_one_line_folds_lines_and_cuts_with_an_ellipsis() -> None:
    assert one_line("a\nb\tc\u2028d") == "a b c d"
    assert one_line("abcdef", limit=4) == "abc…"


def test_text_block_keeps_lines() -> None:
    assert text_block("a\r\nb\rc") == "a\nb\nc"
