"""Catching up with appends: the blocks another writer added past what was read, alone.

A follower (the dashboard's Store, ``sessions.follow``) that saw the file at N bytes reads only
the bytes after N when the file grew by whole blocks; anything else (a rewrite, a torn tail, a
repeated id) makes it read the whole file, which sorts it out and names any problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from warroom.sessions.model import Incident
from warroom.sessions.rollups import LazyRollups
from warroom.sessions.store.lazy import split_rollups
from warroom.sessions.store.load import decode_failure
from warroom.sessions.store.parse import tomllib
from warroom.sessions.toml_codec import BLOCKS, FieldError, decode_blocks

__all__ = ["read_appended", "repeats_ids"]


def read_appended(
    path: Path, ident: tuple[int, int], offset: int, lazy: bool = False
) -> tuple[dict[str, list[Any]], os.stat_result] | None:
    """The whole blocks appended to ``path`` past ``offset``, without reading the rest.

    None when that is not what happened (another file now, shrunk, nothing new, a torn or odd
    tail): the caller reads the whole file, which sorts it out and names any problem. Callers
    hold the shared lock (or the exclusive one), so no append is half-written under them.
    With ``lazy``, the rollups are a LazyRollups of the blocks as read (the last block is
    decoded all the same, to tell a torn one).
    """
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        if (st.st_dev, st.st_ino) != ident or st.st_size <= offset:
            return None
        handle.seek(offset)
        added = handle.read(st.st_size - offset)
    if not added.endswith(b"\n") or not added.lstrip(b"\n").startswith(b"[["):
        return None
    split = split_rollups(added) if lazy else None
    try:
        doc = tomllib.loads((added if split is None else split.eager).decode("utf-8"))
        if not set(doc) <= set(BLOCKS):
            return None
        blocks = decode_blocks(doc)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError, ValueError):
        return None
    if split is not None:
        kept = split.rollups + ([split.last_rollup] if split.last_rollup is not None else [])
        blocks["samples"] = LazyRollups.of_blocks(kept, decode_failure(path))
    return blocks, st


def repeats_ids(incident: Incident, blocks: dict[str, list[Any]]) -> bool:
    """Do appended ``blocks`` hold an entry or action item id that ``incident`` or they hold
    already? (Then the whole file is read again, which sets them aside.)"""
    for section in ("timeline", "action_items"):
        added = [item.id for item in blocks[section]]
        if not added:
            continue
        have = {item.id for item in getattr(incident, section)}
        if len(set(added)) != len(added) or not have.isdisjoint(added):
            return True
    return False
