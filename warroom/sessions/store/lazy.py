"""Parsing all but the rollups: the file cut at its block headers, the ``[[samples]]`` kept as
bytes.

Writers that never look at the rollups (``note``, ``status``, sharing's catch-up) and replay's
first frame read a session this way: the split finds the blocks without a TOML parse, the rest
is validated as ``parse`` does, and the rollup blocks go into a ``LazyRollups``
(``sessions.rollups``, the one home of undecoded blocks: it decodes them on first use, and
``Blocks`` reads a few). This is the only place a file is split into blocks.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from warroom.sessions.rollups import DecodeFailure, LazyRollups
from warroom.sessions.store.errors import SessionError
from warroom.sessions.store.parse import Parsed, parse, schema_of
from warroom.sessions.toml_codec import BLOCKS, SCHEMA

__all__ = ["Split", "parse_lazily", "split_rollups"]

_ROLLUP_BLOCK = b"\n[[samples]]\n"
_INDENTED_TABLE = re.compile(rb"\n[ \t]+\[")  # TOML allows it; warroom never writes it
_OTHER_BLOCKS: tuple[bytes, ...] = tuple(
    f"\n[[{name}]]\n".encode() for name in BLOCKS if name != "samples"
)


@dataclass(frozen=True, slots=True)
class Split:
    eager: bytes  # the file without the rollup blocks before the last block
    rollups: list[bytes]  # those rollup blocks, each as written (b"\n[[samples]]\n" ...)
    last_rollup: bytes | None  # the last block, when it is a rollup (it is in ``eager`` too)


def split_rollups(data: bytes) -> Split | None:
    """Cut ``data`` at its block headers without parsing it; None unless warroom's layout.

    Writers put a blank line and a ``[[name]]`` line before every block and only one-line
    ``key = value`` lines in it (toml_codec), so each line starting with ``[`` after the first
    block opens one. A file edited otherwise (a multi-line string or array that could hold
    such a line, an indented header, a table between blocks, no blank line) is None: the
    caller parses it whole. The last block stays in ``eager`` whatever it is: it is the one
    that can be torn, and the torn-tail check needs it parsed.
    """
    if b'"""' in data or b"'''" in data or _INDENTED_TABLE.search(data):
        return None
    pos = data.find(b"\n[[")
    if pos < 0:
        return Split(data, [], None)
    eager = [data[:pos]]
    rollups: list[bytes] = []
    while (end := data.find(b"\n[", pos + 1)) >= 0:
        block = data[pos:end]
        if block.startswith(_ROLLUP_BLOCK) and block.endswith(b"\n"):
            rollups.append(block)
        elif block.startswith(_OTHER_BLOCKS):
            eager.append(block)
        else:
            return None
        pos = end
    last = data[pos:]
    eager.append(last)
    return Split(b"".join(eager), rollups, last if last.startswith(_ROLLUP_BLOCK) else None)


def parse_lazily(path: Path, data: bytes, fail: DecodeFailure) -> Parsed:
    """``parse`` that leaves the rollups undecoded (a LazyRollups) and unvalidated.

    The rest is validated as ``parse`` does, the torn-tail check included. ``fail`` is what the
    LazyRollups raises when its blocks do not decode (``load.decode_failure``).
    """
    split = split_rollups(data) if schema_of(data) >= SCHEMA else None
    parsed: Parsed | None = None
    if split is not None:
        with contextlib.suppress(SessionError):
            parsed = parse(path, split.eager)
    if split is None or parsed is None:
        # The whole file after all: an older schema (its upgrade rewrite decodes and re-encodes
        # every rollup), a layout the split does not know, or a problem, to be reported with
        # the whole file's line numbers and indexes. Still a LazyRollups, so blocks others
        # append later stay undecoded.
        parsed = parse(path, data)
        parsed.incident.samples = LazyRollups(parsed.incident.samples)
        return parsed
    blocks = split.rollups
    if split.last_rollup is not None and parsed.torn is None:
        blocks.append(split.last_rollup)
    incident = parsed.incident
    incident.samples = LazyRollups.of_blocks(blocks, fail)
    # The torn bytes are the file's last block in both texts.
    whole = len(data) - (len(parsed.torn) if parsed.torn is not None else 0)
    return Parsed(incident, whole, parsed.torn, parsed.schema, parsed.duplicates)
