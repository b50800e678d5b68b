"""The whole file: every block's keys, the rewrite that writes it and the read that checks it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import tomli_w

from warroom.sessions.model import Incident
from warroom.sessions.toml_codec.blocks import _encode, render_block
from warroom.sessions.toml_codec.incident import (
    BLOCKS,
    TOP_KEYS,
    action_item_table,
    check_schema,
    decode_action_item,
    decode_entry,
    decode_header,
    entry_block,
    header_tables,
)
from warroom.sessions.toml_codec.reader import FieldError, describe
from warroom.sessions.toml_codec.samples import (
    _ROLLUP_NAMED,
    _ROLLUP_OPTIONAL,
    _ROLLUP_PAIRS,
    decode_rollup,
    rollup_table,
)

# Every key a block may hold; the torn-tail check uses it to tell a cut-off write from garbage.
BLOCK_KEYS: dict[str, frozenset[str]] = {
    "timeline": frozenset({"id", "at", "kind", "text", "author", "source"}),
    "action_items": frozenset({"id", "text", "owner", "kind", "due", "status", "done"}),
    "samples": frozenset({"at", "seconds", "samples", "status", "refused", *_ROLLUP_OPTIONAL,
                          *_ROLLUP_PAIRS, *_ROLLUP_NAMED, "bouncer_pools", "top_groups",
                          "log_refused_top"}),
}


def render_document(incident: Incident) -> bytes:
    """The whole file, as a rewrite writes it."""
    parts = [_encode(tomli_w.dumps(header_tables(incident)))]
    parts.extend(entry_block(e) for e in incident.timeline)
    parts.extend(render_block("action_items", action_item_table(a)) for a in incident.action_items)
    parts.extend(render_block("samples", rollup_table(r)) for r in incident.samples)
    return b"".join(parts)


_DECODERS: dict[str, Callable[[object, int], Any]] = {
    "timeline": decode_entry,
    "action_items": decode_action_item,
    "samples": decode_rollup,
}


def block_list(doc: Mapping[str, Any], name: str) -> list[Any]:
    value = doc.get(name, [])
    if not isinstance(value, list):
        raise FieldError(f"{name}: expected [[{name}]] blocks, got {describe(value)}", key=name)
    return value


def decode_blocks(doc: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The blocks of ``doc`` as model objects, by block name."""
    out: dict[str, list[Any]] = {}
    for name in BLOCKS:
        decode = _DECODERS[name]
        out[name] = [decode(t, i) for i, t in enumerate(block_list(doc, name))]
    return out


def decode_document(doc: Mapping[str, Any]) -> Incident:
    """A whole parsed file as an Incident; FieldError names the first bad field."""
    check_schema(doc)
    for key in doc:
        if key not in TOP_KEYS:
            raise FieldError(f"{key}: unknown key", key=key)
    incident = decode_header(doc)
    blocks = decode_blocks(doc)
    incident.timeline = blocks["timeline"]
    incident.action_items = blocks["action_items"]
    incident.samples = blocks["samples"]
    return incident
