"""The session file: crash-safe TOML that a plain ``tomllib.load`` reads at any moment.

New timeline entries, action items and sample rollups are appended (one write of the whole
block, then fsync) under an exclusive flock on PATH.lock, so a note costs the same in hour 8 as
in minute 1 and "acknowledged" means "on disk". Everything else (status, severity, header
edits, entry edits and deletes) rewrites the file atomically: temp file, fsync, rename, fsync
the directory.

Only the last appended block can be torn (a crash or a full disk mid-write). ``load`` reports
it and reads the rest; ``Store.open`` cuts the file back to the last whole block and keeps the
torn bytes beside it. Anything else wrong with the file is a SessionError naming the line or
field, and the file is never touched. Unknown keys are errors (see toml_codec).

Writers that only add entries or change the header (``warroom note``, ``status``) open with
``lazy=True``: the ``[[samples]]`` blocks, most of a long session's bytes, are kept undecoded
(see ``rollups``) and are not validated by that writer, which never changes them.

The rooms: ``errors`` (SessionError and its kinds), ``parse`` (bytes to a validated record,
line numbers, the torn last block), ``problems`` (ids used twice, worded), ``lazy`` (the split
that keeps rollups as bytes), ``load`` (``load``, ``load_header``, ``Loaded``), ``appended``
(reading only what others appended) and ``writer`` (``Store``). Callers import from here.
"""

from __future__ import annotations

from warroom.sessions.store.appended import read_appended, repeats_ids
from warroom.sessions.store.errors import SessionDiskError, SessionError, SessionLocked
from warroom.sessions.store.load import Loaded, load, load_header
from warroom.sessions.store.problems import summary, warn_once
from warroom.sessions.store.writer import Store, Written

__all__ = [
    "Loaded",
    "SessionDiskError",
    "SessionError",
    "SessionLocked",
    "Store",
    "Written",
    "load",
    "load_header",
    "read_appended",
    "repeats_ids",
    "summary",
    "warn_once",
]
