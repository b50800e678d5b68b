"""Recorded text made safe for the draft's Markdown: lines, paragraphs, list items,
headings and table cells that read literally and can never open a block of their own.
"""

from __future__ import annotations

import re

from warroom.sanitize import text_block

# Everything that can open an inline construct: emphasis, code spans, raw HTML and autolinks,
# links and link definitions, entities (which could smuggle a control character back in).
_INLINE = re.compile(r"_+|[\\`*<\[\]]|&(?=#?[0-9A-Za-z]+;)")
# Line starts that open a block: heading, quote, list, thematic break, setext underline, fence.
_BLOCK_CHAR = frozenset("#>+-=~|")
_ORDERED = re.compile(r"^(\d+)([.)])")


def clean(text: str) -> str:
    """``text`` with newlines normalised and terminal/control characters removed."""
    return text_block(text)


def _inline_sub(match: re.Match[str]) -> str:
    found = match.group()
    if found[0] == "_":
        # snake_case stays readable: an underscore run between letters cannot open emphasis.
        text, start, end = match.string, match.start(), match.end()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if before.isalnum() and after.isalnum():
            return found
        return "\\_" * len(found)
    return "\\" + found


def escape_line(line: str) -> str:
    """One line of recorded text, safe anywhere a line of Markdown text may go."""
    line = _INLINE.sub(_inline_sub, line.strip(" \t"))
    if line and line[0] in _BLOCK_CHAR:
        return "\\" + line
    return _ORDERED.sub(r"\1\\\2", line, count=1)


def _lines(text: str) -> list[str]:
    """Escaped non-blank lines of ``text``."""
    return [escaped for line in clean(text).split("\n") if (escaped := escape_line(line))]


def one_line(text: str) -> str:
    """Recorded text joined onto a single line (titles, names, list item heads)."""
    return " ".join(_lines(text))


def _paragraphs(text: str) -> list[list[str]]:
    """Escaped lines grouped into the paragraphs the writer separated with blank lines."""
    paragraphs: list[list[str]] = [[]]
    for line in clean(text).split("\n"):
        escaped = escape_line(line)
        if escaped:
            paragraphs[-1].append(escaped)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _prose(text: str, todo: str) -> list[str]:
    """Paragraphs of recorded text, or the TODO prompt when there is none."""
    paragraphs = _paragraphs(text)
    if not paragraphs:
        return [todo]
    out: list[str] = []
    for paragraph in paragraphs:
        if out:
            out.append("")
        out.extend(paragraph)
    return out


def _first_paragraph(text: str) -> str:
    paragraphs = _paragraphs(text)
    return " ".join(paragraphs[0]) if paragraphs else ""


def _item(head: str, text: str) -> list[str]:
    """A list item: ``head`` then the text, continuation lines kept inside the item."""
    lines = _lines(text) or ["(no text)"]
    first, *rest = lines
    return [f"- {head}{first}", *(f"  {line}" for line in rest)]


def _paragraph(head: str, text: str) -> list[str]:
    """``head`` then the text as one paragraph (escaped lines cannot leave it)."""
    lines = _lines(text) or ["(no text)"]
    return [head + lines[0], *lines[1:]]


def _heading_text(text: str) -> str:
    """``text`` safe as heading content: a trailing "#" run would be eaten as a closing sequence."""
    if text.endswith("#"):
        body = text[:-1]
        backslashes = len(body) - len(body.rstrip("\\"))
        if backslashes % 2 == 0:  # the final "#" is not escaped yet
            return body + "\\#"
    return text


def _cell(text: str) -> str:
    """Recorded text as one GFM table cell: inline escapes, and no "|" that could split it.

    A pipe becomes an entity after escaping, so the entity itself is never escaped away.
    """
    pieces = " ".join(clean(text).split()).split("|")
    return "&#124;".join(_INLINE.sub(_inline_sub, piece) for piece in pieces) or "—"
