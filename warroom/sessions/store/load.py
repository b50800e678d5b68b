"""Reading a session without writing anything: ``load`` (the whole record, validated),
``load_header`` (only the part before the first block) and the ``Loaded`` result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warroom.sessions import fileio
from warroom.sessions.model import Incident
from warroom.sessions.rollups import DecodeFailure
from warroom.sessions.store.errors import SessionError, os_error
from warroom.sessions.store.lazy import parse_lazily
from warroom.sessions.store.parse import Parsed, field_error, parse, tomllib
from warroom.sessions.store.problems import duplicate_problems, warn_once
from warroom.sessions.toml_codec import SCHEMA, FieldError, decode_header

__all__ = ["Loaded", "decode_failure", "load", "load_header", "parse_file", "read"]


@dataclass(slots=True)
class Loaded:
    incident: Incident
    torn: bytes | None  # the cut-off last block, ignored in ``incident``; None when whole
    schema: int = SCHEMA  # the file's schema (older ones are read as they are)
    # What readers show otherwise than the file says (an id used twice: the first is shown),
    # each "PATH: line N: ..."; ``warroom check`` fails on them, readers warn once.
    problems: tuple[str, ...] = ()


def decode_failure(path: Path) -> DecodeFailure:
    """What a LazyRollups of ``path`` raises when its blocks do not decode: the error a full
    read of the file gives now (line and place), so it reads the same as ``warroom check``."""

    def failure(exc: Exception) -> Exception:
        try:
            data, _ = read(path)
            parse(path, data)
        except SessionError as full:
            return full
        return SessionError(f"{path}: {exc}")

    return failure


def parse_file(path: Path, data: bytes, *, lazy: bool) -> Parsed:
    """``data`` read from ``path``, parsed whole or, with ``lazy``, with its rollups as bytes."""
    return parse_lazily(path, data, decode_failure(path)) if lazy else parse(path, data)


def read(path: Path) -> tuple[bytes, os.stat_result]:
    """The whole file and its stat, from one open (an OSError worded: SessionDiskError)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise os_error(path, exc) from None
    try:
        st = os.fstat(fd)
        return fileio.read_all(fd), st
    except OSError as exc:
        raise os_error(path, exc) from None
    finally:
        os.close(fd)


def load(path: Path, *, lazy: bool = False, warn: bool = True) -> Loaded:
    """Read and fully validate a session file without writing anything (not even a lock file).

    A torn last block is left out of the incident and returned in ``torn``; any other problem
    raises SessionError. Waits briefly for a writer in progress so as not to mistake its
    half-finished append for a torn one. ``lazy`` leaves the rollups undecoded and unchecked
    until read, as ``Store.open`` does (replay decodes the few its cursor needs).
    ``problems`` says what readers show otherwise than the file says; with ``warn`` a warning
    line names it (once per process).
    """
    path = Path(path)
    try:
        with fileio.locked(path, exclusive=False, create=False):
            data, _ = read(path)
    except fileio.LockTimeout as exc:
        raise os_error(path, exc) from None
    parsed = parse_file(path, data, lazy=lazy)
    problems = duplicate_problems(path, data, parsed.duplicates)
    if warn:
        warn_once(problems)
    return Loaded(parsed.incident, parsed.torn, parsed.schema, problems)


def load_header(path: Path) -> Incident:
    """Only the part before the first ``[[...]]`` block: lists of the incident are empty.

    Cheap whatever the session's length, for listing many sessions. The blocks are not
    validated here; ``load`` does that.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise os_error(path, exc) from None
    data = b""
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            data += chunk
            cut = data.find(b"\n[[")
            if cut >= 0:
                data = data[: cut + 1]
                break
            if not chunk:
                break
    except OSError as exc:
        raise os_error(path, exc) from None
    finally:
        os.close(fd)
    try:
        return decode_header(tomllib.loads(data.decode("utf-8")))
    except FieldError as exc:
        raise field_error(path, data, exc) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        # A hand-edited multi-line string may hold "\n[[": let the full reader decide.
        return load(path).incident
