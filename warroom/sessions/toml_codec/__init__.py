"""Incident <-> TOML tables: rendering the file's parts and validating what was read back.

The layout (DESIGN.md "Session file"): ``schema = 1``, ``[incident]`` with ``[incident.roles]``,
``[target]``, then ``[[timeline]]``, ``[[action_items]]`` and ``[[samples]]`` blocks in any order.
TOML has no null, so a None field is simply left out. Datetimes are offset datetimes in UTC,
enums their string values. Strings are written as one-line basic strings (tomli-w's default), so
a line starting with ``[[`` is always a block header: the store relies on that to find the last
block without parsing, and to set the rollup blocks aside undecoded for writers that do not
read them (``Store.open(lazy=True)``, see rollups.py).

Validation is strict and names the field (``timeline[3].at: expected an offset datetime, got a
local datetime``). Unknown keys are an error rather than ignored: the file is the truth, and a
key nobody reads would be silently dropped by the next rewrite (a hand-edited ``tilte`` would
vanish). Every key a block is written with is required, apart from the optional (None-able)
fields; the key written last in every block is required, so a block cut off at a line boundary
always lacks a required key and is recognised as torn rather than read with defaults.

The rooms: reader.py (typed reading, FieldError), blocks.py (a block as text), incident.py (the
header, [[timeline]] and [[action_items]]), samples.py (the [[samples]] rollups) and document.py
(the whole file). Every name is re-exported here, so importers use this package's path.
"""

from __future__ import annotations

from warroom.sessions.toml_codec.blocks import render_block, render_blocks
from warroom.sessions.toml_codec.document import (
    BLOCK_KEYS,
    block_list,
    decode_blocks,
    decode_document,
    render_document,
)
from warroom.sessions.toml_codec.incident import (
    BLOCKS,
    OLDEST_SCHEMA,
    SCHEMA,
    TOP_KEYS,
    Duplicate,
    action_item_table,
    check_schema,
    decode_action_item,
    decode_entry,
    decode_header,
    entry_block,
    entry_table,
    header_tables,
    scrub_dsn,
    set_duplicates_aside,
)
from warroom.sessions.toml_codec.reader import FieldError, describe
from warroom.sessions.toml_codec.samples import decode_rollup, rollup_table

__all__ = [
    "BLOCKS",
    "BLOCK_KEYS",
    "OLDEST_SCHEMA",
    "SCHEMA",
    "TOP_KEYS",
    "Duplicate",
    "FieldError",
    "action_item_table",
    "block_list",
    "check_schema",
    "decode_action_item",
    "decode_blocks",
    "decode_document",
    "decode_entry",
    "decode_header",
    "decode_rollup",
    "describe",
    "entry_block",
    "entry_table",
    "header_tables",
    "render_block",
    "render_blocks",
    "render_document",
    "rollup_table",
    "scrub_dsn",
    "set_duplicates_aside",
]
