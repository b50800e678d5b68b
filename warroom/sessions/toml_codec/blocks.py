"""One ``[[name]]`` block as text: plain ``key = value`` lines, each value on one line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import tomli_w

from warroom.sessions.toml_codec.reader import FieldError


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates (e.g. undecodable argv bytes) cannot be stored as TOML text.
        raise FieldError(
            f"text is not valid Unicode (position {exc.start}); nothing written"
        ) from None


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _scalar(value: object) -> str:
    return tomli_w.dumps({"v": value})[4:-1]


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _scalar(key)


def _inline(value: object) -> str:
    """One line, whatever the value: tomli-w spreads arrays over lines and turns tables into
    ``[sub.tables]``, and a block must stay ``key = value`` lines for the torn-tail check."""
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(str(k))} = {_inline(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value)


def render_block(name: str, table: Mapping[str, Any]) -> bytes:
    """One appended block, preceded by a blank line for the human reader.

    The header line is written by hand: tomli-w turns a short array of tables into an inline
    array (``timeline = [{...}]``), which after an earlier block would land inside that block.
    Every value is written on one line, so the block is plain ``key = value`` lines.
    """
    flat = {k: v for k, v in table.items() if not isinstance(v, Mapping | list | tuple)}
    if len(flat) == len(table):
        return _encode(f"\n[[{name}]]\n" + tomli_w.dumps(table))
    lines = [f"{_key(k)} = {_inline(v)}\n" for k, v in table.items()]
    return _encode(f"\n[[{name}]]\n" + "".join(lines))


def render_blocks(name: str, tables: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(render_block(name, table) for table in tables)
