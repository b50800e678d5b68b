"""What every recorder store does, and the one place that opens one from ``--store``.

A store is a SQLite file (store.py, ``FrameStore``) or, for a fleet, the ops PostgreSQL
(pgstore.py, ``PgFrameStore``); both keep frames as keyframes plus deltas and answer the
same reads, so replay, the lead-up and ``warroom frames`` never ask which one they have.
A spec is a ``Path`` (a file) or a ``str`` (a DSN: a ``postgres[ql]://`` URI or libpq's
``key=value`` form). A DSN is shown as ``describe`` words it, never with its password.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from warroom.recording.retention import Retention
from warroom.recording.store import FrameStore, StoreError
from warroom.sessions.share.opsdb import OpsError

if TYPE_CHECKING:
    from warroom.recording.frame import Frame

StoreSpec = Path | str  # a str is always a DSN; a path is always a Path

# What a write or a read may raise that says "not now" (a full disk, an unreachable ops
# database): the recorder logs it and goes on; a reader shows no frames.
WRITE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError, OpsError)
READ_ERRORS: tuple[type[BaseException], ...] = (StoreError, *WRITE_ERRORS)

_KEYWORD = re.compile(r"\s*[A-Za-z_]+\s*=")


class FrameSource(Protocol):
    """The reads replay, the lead-up and ``warroom frames`` make."""

    def servers(self) -> list[str]: ...

    def span(self, server: str) -> tuple[datetime, datetime] | None: ...

    def state_at(self, server: str, at: datetime) -> Frame | None: ...

    def frames(self, server: str, since: datetime, until: datetime) -> Iterator[Frame]: ...

    def rollups(
        self, server: str, since: datetime, until: datetime
    ) -> list[tuple[float, str]]: ...

    def export(self, target: FrameStore, server: str, since: datetime, until: datetime
               ) -> int: ...  # fmt: skip

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, *exc: object) -> None: ...


class FrameSink(FrameSource, Protocol):
    """What the recorder writes through (one thread)."""

    def append(self, frame: Frame) -> None: ...

    def forget(self) -> None: ...

    def add_rollup(self, server: str, at: datetime, body: str) -> None: ...

    def used_bytes(self) -> int: ...

    def enforce(self) -> None: ...


def is_dsn(text: str) -> bool:
    """A PostgreSQL connection string rather than a file name (write a file whose name has
    an "=" in it as ./name)."""
    lowered = text.lstrip().lower()
    return lowered.startswith(("postgresql://", "postgres://")) or bool(_KEYWORD.match(text))


def parse_spec(text: str) -> StoreSpec:
    """``--store``/``[record] store``: a DSN (checked by libpq, worded without any of it:
    DsnError) or a path."""
    if is_dsn(text):
        from warroom.dsn import parse

        parse(text, "the --store connection string")
        return text
    return Path(text).expanduser()


def describe(spec: StoreSpec) -> str:
    """For log lines and messages: the path, or ``postgresql host:port/dbname``."""
    if isinstance(spec, Path):
        return str(spec)
    from warroom.recording.pgstore import where

    return f"postgresql {where(spec)}"


def open_store(
    spec: StoreSpec,
    *,
    readonly: bool = False,
    retention: Retention | None = None,
    clock: Callable[[], float] = time.time,
) -> FrameSink:
    """The store ``spec`` names. Reading: StoreError when there is no store there (yet).
    Writing: the schema is made if missing (a DSN: today's and tomorrow's partitions too)."""
    if isinstance(spec, Path):
        return FrameStore(spec, retention=retention, clock=clock, readonly=readonly)
    from warroom.recording.pgstore import PgFrameStore

    return PgFrameStore(spec, retention=retention, clock=clock, readonly=readonly)
