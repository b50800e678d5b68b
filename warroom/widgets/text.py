"""Text from the database or from users is data: never markup, never control characters."""

from __future__ import annotations

from rich.text import Text

from warroom.sanitize import one_line as clean

__all__ = ["clean", "literal"]


def literal(value: object, style: str = "", limit: int | None = None) -> Text:
    """A Rich Text that shows ``value`` exactly (brackets and all), cleaned of controls."""
    return Text(clean(value, limit), style=style, no_wrap=True, overflow="ellipsis")
