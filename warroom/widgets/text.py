"""Text from the database or from users is data: never markup, never control characters."""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls (tab and newline included: a cell is one line), DEL, and C1 controls such as CSI.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(value: object, limit: int | None = None) -> str:
    """One printable line: control characters become spaces, runs of space collapse."""
    text = _CONTROL.sub(" ", str(value))
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def literal(value: object, style: str = "", limit: int | None = None) -> Text:
    """A Rich Text that shows ``value`` exactly (brackets and all), cleaned of controls."""
    return Text(clean(value, limit), style=style, no_wrap=True, overflow="ellipsis")
