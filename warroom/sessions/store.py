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
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from warroom.sessions import fileio, pending
from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    SampleRollup,
    Source,
    TimelineEntry,
    check_typed,
)
from warroom.sessions.mutations import Mutation
from warroom.sessions.rollups import LazyRollups, render_session
from warroom.sessions.times import utcnow
from warroom.sessions.toml_codec import (
    BLOCK_KEYS,
    BLOCKS,
    SCHEMA,
    Duplicate,
    FieldError,
    action_item_table,
    decode_blocks,
    decode_document,
    decode_header,
    entry_table,
    header_tables,
    render_block,
    render_blocks,
    render_document,
    rollup_table,
    set_duplicates_aside,
)

try:
    # The compiled reader parses an 8-hour session about 2.5x faster than the stdlib's
    # pure-Python one, with the same API and messages; the stdlib is the fallback.
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency
    import tomllib  # type: ignore[no-redef]

T = TypeVar("T")

__all__ = ["Loaded", "SessionError", "SessionLocked", "Store", "Written", "load", "load_header"]


class SessionError(Exception):
    """One-line message fit for `warroom: error: ...`: names the path and the line or field."""


class SessionLocked(SessionError):
    """Another process held the session's lock for longer than this writer waits."""


@dataclass(slots=True)
class Loaded:
    incident: Incident
    torn: bytes | None  # the cut-off last block, ignored in ``incident``; None when whole
    schema: int = SCHEMA  # the file's schema (older ones are read as they are)
    # What readers show otherwise than the file says (an id used twice: the first is shown),
    # each "PATH: line N: ..."; ``warroom check`` fails on them, readers warn once.
    problems: tuple[str, ...] = ()


# -- parsing a whole file ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parsed:
    incident: Incident
    whole: int  # bytes of the file that hold whole blocks; len(data) unless torn
    torn: bytes | None
    schema: int = SCHEMA
    duplicates: tuple[Duplicate, ...] = ()  # set aside from ``incident`` (the first is kept)


_BLOCK_HEADERS: tuple[bytes, ...] = tuple(f"[[{name}]]".encode() for name in BLOCKS)
_TABLE_LINE = re.compile(rb"^[ \t]*\[(\[)?[ \t]*([A-Za-z0-9_.-]+)[ \t]*\]", re.MULTILINE)
_SCHEMA_LINE = re.compile(rb"\A\s*schema\s*=\s*(\d+)")
_TOML_AT = re.compile(r"^(?P<what>.*?) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def _last_table_start(data: bytes) -> int | None:
    """Offset of the last line that opens a table (``[`` at line start); None if none."""
    i = data.rfind(b"\n[")
    return None if i < 0 else i + 1


def _looks_cut_off(tail: bytes) -> str | None:
    """The block name if ``tail`` could be the start of one block as a writer writes it.

    A cut-off write is a prefix of one block: its header line, whole ``key = value`` lines of
    that block's keys, then at most one incomplete line. Anything else is corruption.
    """
    lines = tail.split(b"\n")
    first, whole, last = lines[0], lines[1:-1], lines[-1]
    pairs = list(zip(_BLOCK_HEADERS, BLOCKS, strict=True))
    if len(lines) == 1:
        return next((name for header, name in pairs if header.startswith(first)), None)
    name = next((name for header, name in pairs if first.rstrip() == header), None)
    if name is None:
        return None
    keys = BLOCK_KEYS[name]
    for line in whole:
        try:
            pair = tomllib.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        if len(pair) != 1 or not set(pair) <= keys:
            return None
    key, equals, _ = last.partition(b" = ")
    if equals:
        return name if key.decode("utf-8", "replace") in keys else None
    if any(f"{k} = ".encode().startswith(last) for k in keys):
        return name
    return None


def _line_of(data: bytes, error: FieldError) -> int | None:
    """Best line number for a FieldError: the key's line, else its table's header line."""
    headers = list(_TABLE_LINE.finditer(data))
    if error.section is None:
        start, end = 0, headers[0].start() if headers else len(data)
        header_line = None
    else:
        is_array = error.index is not None
        matches = [m for m in headers if m[2].decode() == error.section and bool(m[1]) == is_array]
        position = error.index if is_array else 0
        if position is None or position >= len(matches):
            return None
        match = matches[position]
        start = match.end()
        later = [m.start() for m in headers if m.start() > match.start()]
        end = later[0] if later else len(data)
        header_line = data.count(b"\n", 0, match.start()) + 1
    if error.key and not error.missing:
        key = re.compile(rb"^[ \t]*" + re.escape(error.key.encode()) + rb"[ \t]*=", re.MULTILINE)
        found = key.search(data, start, end)
        if found:
            return data.count(b"\n", 0, found.start()) + 1
    return header_line


def _field_error(path: Path, data: bytes, error: FieldError) -> SessionError:
    line = _line_of(data, error)
    where = f"line {line}: " if line else ""
    return SessionError(f"{path}: {where}{error}")


def _syntax_error(path: Path, data: bytes, error: Exception) -> SessionError:
    if isinstance(error, UnicodeDecodeError):
        line = data.count(b"\n", 0, error.start) + 1
        return SessionError(f"{path}: line {line}: not UTF-8 text (byte {error.start})")
    text = str(error)
    match = _TOML_AT.match(text)
    if match:
        what = match["what"][:1].lower() + match["what"][1:]
        return SessionError(
            f"{path}: line {match['line']}, column {match['col']}: {what} (not valid TOML)"
        )
    if text.endswith(" (at end of document)"):
        what = text.removesuffix(" (at end of document)")
        what = what[:1].lower() + what[1:]
        line = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        return SessionError(f"{path}: line {line}: {what} at the end of the file (not valid TOML)")
    return SessionError(f"{path}: not valid TOML: {text}")


def _error_line(error: Exception, data: bytes) -> int | None:
    if isinstance(error, UnicodeDecodeError):
        return data.count(b"\n", 0, error.start) + 1
    match = _TOML_AT.match(str(error))
    return int(match["line"]) if match else None


def _parse_whole(data: bytes) -> Incident:
    """``data`` as a complete document; raises UnicodeDecodeError, TOMLDecodeError, FieldError."""
    return decode_document(tomllib.loads(data.decode("utf-8")))


def _schema_of(data: bytes) -> int:
    # Writers put ``schema`` on the first line; a file that parsed has a valid one.
    match = _SCHEMA_LINE.match(data)
    return int(match[1]) if match else SCHEMA


def _parse(path: Path, data: bytes) -> _Parsed:
    """Validate ``data`` fully, telling a torn last block apart from corruption.

    Entries and action items whose id came earlier are set aside (``duplicates``).
    """
    parsed = _parse_blocks(path, data)
    duplicates = set_duplicates_aside(parsed.incident)
    return _Parsed(parsed.incident, parsed.whole, parsed.torn, _schema_of(data), duplicates)


_NAMES = {"timeline": "timeline entry", "action_items": "action item"}


def _problems(path: Path, data: bytes, duplicates: Sequence[Duplicate]) -> tuple[str, ...]:
    """One line for each duplicate, with its line in ``data`` (the whole file) and the first's.

    Indexes count a section's blocks in file order, which a lazy parse (rollups set aside)
    keeps, so the lines are the file's whatever parse found them.
    """
    out = []
    for dup in duplicates:
        line = _line_of(data, FieldError("", section=dup.section, index=dup.index, key="id"))
        first = _line_of(data, FieldError("", section=dup.section, index=dup.first, key="id"))
        where = f"line {line}: " if line else ""
        out.append(
            f"{path}: {where}{_NAMES[dup.section]} id {dup.item.id!r} is used again (first on "
            f"line {first}): every reader shows only the first; give one of them a new id"
        )
    return tuple(out)


def summary(problems: Sequence[str]) -> str:
    """``problems`` as one line: the first, and how many more there are."""
    more = problems[1:]
    if not more:
        return problems[0]
    lines = [m[1] for p in more if (m := _PROBLEM_LINE.search(p))]
    where = f", on line{'s' if len(lines) > 1 else ''} {', '.join(lines)}" if lines else ""
    return f"{problems[0]} (and {len(more)} more like it{where})"


_PROBLEM_LINE = re.compile(r": line (\d+): ")


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(problems: Sequence[str]) -> None:
    """One warning line on standard error for what a reader shows otherwise than the file says.

    Once per process and problem: a dashboard or a page follower reads the file again and
    again. ``sys.stderr`` is looked up here: while a Textual app runs, it captures it, so the
    screen is never written over (the line was printed already when the record was opened).
    """
    if not problems:
        return
    line = summary(problems)
    with _warned_lock:
        if line in _warned:
            return
        _warned.add(line)
    print(f"warroom: warning: {line}", file=sys.stderr)


def _parse_blocks(path: Path, data: bytes) -> _Parsed:
    problem: Exception | None = None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problem = exc
    tail_at = _last_table_start(data)
    tail_block = _looks_cut_off(data[tail_at:]) if tail_at is not None else None

    if problem is None:
        try:
            incident = decode_document(doc)
        except FieldError as exc:
            in_last = (
                tail_block is not None
                and exc.section == tail_block
                and exc.index == len(doc.get(tail_block, [])) - 1
            )
            # Cut off: the last block lacks a key its writer always writes, or its last line
            # stops short (``at = 2`` parses, as an integer).
            if not (in_last and (exc.missing or not data.endswith(b"\n"))):
                raise _field_error(path, data, exc) from None
            problem = exc
        else:
            if data.endswith(b"\n") or tail_block is None:
                return _Parsed(incident, len(data), None)
            # It parses, but a writer always ends a block with a newline: cut off mid-line.

    if tail_at is None or tail_block is None:
        raise _as_session_error(path, data, problem)
    line = _error_line(problem, data) if problem is not None else None
    tail_line = data.count(b"\n", 0, tail_at) + 1
    if line is not None and line < tail_line:
        raise _as_session_error(path, data, problem)  # broken before the last block
    head = data[:tail_at]
    try:
        incident = _parse_whole(head)
    except FieldError as exc:
        raise _field_error(path, head, exc) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _syntax_error(path, head, exc) from None
    return _Parsed(incident, tail_at, data[tail_at:])


def _as_session_error(path: Path, data: bytes, problem: Exception | None) -> SessionError:
    if isinstance(problem, FieldError):
        return _field_error(path, data, problem)
    if problem is None:
        return SessionError(f"{path}: does not end with a newline")
    return _syntax_error(path, data, problem)


# -- parsing all but the rollups --------------------------------------------------------------

_ROLLUP_BLOCK = b"\n[[samples]]\n"
_INDENTED_TABLE = re.compile(rb"\n[ \t]+\[")  # TOML allows it; warroom never writes it
_OTHER_BLOCKS: tuple[bytes, ...] = tuple(
    f"\n[[{name}]]\n".encode() for name in BLOCKS if name != "samples"
)


@dataclass(frozen=True, slots=True)
class _Split:
    eager: bytes  # the file without the rollup blocks before the last block
    rollups: list[bytes]  # those rollup blocks, each as written (b"\n[[samples]]\n" ...)
    last_rollup: bytes | None  # the last block, when it is a rollup (it is in ``eager`` too)


def _split_rollups(data: bytes) -> _Split | None:
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
        return _Split(data, [], None)
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
    return _Split(b"".join(eager), rollups, last if last.startswith(_ROLLUP_BLOCK) else None)


def _decode_failure(path: Path) -> Callable[[Exception], Exception]:
    """What a LazyRollups of ``path`` raises when its blocks do not decode: the error a full
    read of the file gives now (line and place), so it reads the same as ``warroom check``."""

    def failure(exc: Exception) -> Exception:
        try:
            data, _ = _read(path)
            _parse(path, data)
        except SessionError as full:
            return full
        return SessionError(f"{path}: {exc}")

    return failure


def _parse_lazily(path: Path, data: bytes) -> _Parsed:
    """``_parse`` that leaves the rollups undecoded (a LazyRollups) and unvalidated.

    The rest is validated as ``_parse`` does, the torn-tail check included.
    """
    split = _split_rollups(data) if _schema_of(data) >= SCHEMA else None
    parsed: _Parsed | None = None
    if split is not None:
        with contextlib.suppress(SessionError):
            parsed = _parse(path, split.eager)
    if split is None or parsed is None:
        # The whole file after all: an older schema (its upgrade rewrite decodes and re-encodes
        # every rollup), a layout the split does not know, or a problem, to be reported with
        # the whole file's line numbers and indexes. Still a LazyRollups, so blocks others
        # append later stay undecoded.
        parsed = _parse(path, data)
        parsed.incident.samples = LazyRollups(parsed.incident.samples)
        return parsed
    blocks = split.rollups
    if split.last_rollup is not None and parsed.torn is None:
        blocks.append(split.last_rollup)
    incident = parsed.incident
    incident.samples = LazyRollups.of_blocks(blocks, _decode_failure(path))
    # The torn bytes are the file's last block in both texts.
    whole = len(data) - (len(parsed.torn) if parsed.torn is not None else 0)
    return _Parsed(incident, whole, parsed.torn, parsed.schema, parsed.duplicates)


def _os_error(path: Path, exc: OSError, doing: str = "cannot read") -> SessionError:
    if isinstance(exc, FileNotFoundError):
        return SessionError(f"no such session file: {path}")
    if isinstance(exc, IsADirectoryError):
        return SessionError(f"{path}: is a directory, not a session file")
    return SessionError(f"{path}: {doing}: {exc.strerror or exc}")


def _read(path: Path) -> tuple[bytes, os.stat_result]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        st = os.fstat(fd)
        return fileio.read_all(fd), st
    except OSError as exc:
        raise _os_error(path, exc) from None
    finally:
        os.close(fd)


# -- public read-only API ---------------------------------------------------------------------


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
            data, _ = _read(path)
    except fileio.LockTimeout as exc:
        raise _os_error(path, exc) from None
    parsed = _parse_lazily(path, data) if lazy else _parse(path, data)
    problems = _problems(path, data, parsed.duplicates)
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
        raise _os_error(path, exc) from None
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
        raise _os_error(path, exc) from None
    finally:
        os.close(fd)
    try:
        return decode_header(tomllib.loads(data.decode("utf-8")))
    except FieldError as exc:
        raise _field_error(path, data, exc) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        # A hand-edited multi-line string may hold "\n[[": let the full reader decide.
        return load(path).incident


# -- the writer -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the file looked like when this Store last read or wrote it."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> _Seen:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _assign(into: Incident, source: Incident) -> None:
    """Make ``into`` equal to ``source`` in place, so holders of ``Store.incident`` see it."""
    for f in dataclasses.fields(Incident):
        setattr(into, f.name, getattr(source, f.name))


_LISTS = frozenset({"timeline", "action_items", "samples"})


def _header_state(incident: Incident) -> dict[str, Any]:
    return {
        f.name: dataclasses.replace(value) if dataclasses.is_dataclass(value) else value
        for f in dataclasses.fields(Incident)
        if f.name not in _LISTS
        for value in (getattr(incident, f.name),)
    }


@dataclass(frozen=True, slots=True)
class Written:
    """What one successful write of this Store changed, for whoever mirrors the record.

    Observers run under the file lock, after the write is durable and ``store.incident`` shows
    it, so whatever they record beside the file is in step with it (sharing keeps its outbox
    this way). ``before`` is the incident before a rewrite; None for appends, whose whole change
    is ``appended``.
    """

    store: Store
    before: Incident | None
    appended: tuple[TimelineEntry | ActionItem, ...] = ()


class Store:
    """The writer of one session file; the TUI and every CLI command that writes use one.

    ``incident`` is the in-memory truth, kept in step with the file: it changes only after the
    file did. Safe to share between threads of one process; processes coordinate via PATH.lock.
    """

    path: Path
    incident: Incident
    recovered_to: Path | None

    def __init__(
        self,
        path: Path,
        incident: Incident,
        seen: _Seen,
        whole: int,
        schema: int = SCHEMA,
        lazy: bool = False,
    ) -> None:
        self.path = path
        self.schema = schema
        self.lazy = lazy  # rollups read from the file stay undecoded until used (``open``)
        self.incident = incident
        self.recovered_to = None
        self._seen = seen
        self._whole = whole  # < seen.size while a torn tail we did not cut is on disk
        self._ids = {entry.id for entry in incident.timeline}
        self._mutex = threading.RLock()
        # How long a write waits for another writer's lock (the Recorder waits briefly and
        # retries, so it can report the wait and stop when asked).
        self.lock_wait: float = fileio.LOCK_WAIT
        # Counts every change to ``incident`` (ours, or others' picked up): readers compare it
        # to know when to redraw, whichever write brought the change in.
        self.changes = 0
        self.pending_added = 0  # writes taken from pending files of writers that were gone
        self._observers: list[Callable[[Written], None]] = []
        # Entries and action items whose id came earlier in the file: left out of ``incident``
        # (readers show the first) and written back after the rest by a rewrite, so a writer
        # never loses or changes them; ``problems`` names them.
        self.duplicates: tuple[Duplicate, ...] = ()
        self.problems: tuple[str, ...] = ()

    def _set_aside(self, path: Path, data: bytes, parsed: _Parsed) -> None:
        self.duplicates = parsed.duplicates
        self.problems = _problems(path, data, parsed.duplicates)
        warn_once(self.problems)

    def observe(self, observer: Callable[[Written], None]) -> None:
        """Call ``observer`` after each successful write of this Store (not others' writes)."""
        self._observers.append(observer)

    def _written(self, before: Incident | None, appended: Sequence[Any] = ()) -> None:
        for observer in self._observers:
            observer(Written(self, before, tuple(appended)))

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, incident: Incident) -> Store:
        """Write a new session file (parents created, 0600, durable); refuses an existing one."""
        path = Path(path)
        if os.path.lexists(path):
            raise SessionError(f"session file already exists: {path}")
        data = _render(path, render_document, incident)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with fileio.locked(path, exclusive=True):
                fileio.create_exclusively(path, data)
                st = os.stat(path)
        except FileExistsError:
            raise SessionError(f"session file already exists: {path}") from None
        except OSError as exc:
            raise _os_error(path, exc, "cannot create") from None
        return cls(path, incident, _Seen.of(st), st.st_size)

    @classmethod
    def open(cls, path: Path, *, lazy: bool = False) -> Store:
        """Open an existing session to write to it, cutting off a torn last append if any.

        The torn bytes are kept beside the file (``recovered_to``); everything before them is
        validated first, so a corrupt file raises SessionError and stays byte-identical.

        ``lazy`` is for writers that never look at the rollups (``note``, ``status``, sharing's
        catch-up): ``incident.samples`` is then a LazyRollups, decoded only if something reads
        it, and rollups read from the file (now or appended later by others) are written back
        byte for byte by a rewrite. Such a writer does not validate rollup blocks before the
        last block: a malformed one is kept as it is (``warroom check`` and every full read
        still name it); the last block is checked whatever it holds, as the torn-tail check
        needs. The upgrade of an older schema and a pending file with rollups decode them.
        """
        path = Path(path)
        if not os.path.lexists(path):
            raise SessionError(f"no such session file: {path}")
        try:
            with fileio.locked(path, exclusive=True):
                data, st = _read(path)
                parsed = _parse_lazily(path, data) if lazy else _parse(path, data)
                store = cls(path, parsed.incident, _Seen.of(st), parsed.whole, parsed.schema,
                            lazy)  # fmt: skip
                store._set_aside(path, data, parsed)
                if parsed.torn is not None:
                    store._recover(parsed)
                fileio.sweep_dead_temps(path)
                store._take_pending()
        except OSError as exc:
            raise _os_error(path, exc, "cannot open for writing") from None
        return store

    # -- appends ---------------------------------------------------------------------------

    def append_entry(self, entry: TimelineEntry, detects: bool = False) -> None:
        """Append one timeline entry; returns once it is fsynced.

        An entry that changes the header (a first detection sets detected_at; ``detects``
        makes any entry count as one) rewrites instead.
        """
        check_typed(entry)  # ModelError: a note over the limit is refused before the lock
        with self._mutex, self._writing():
            if entry.id in self._ids:
                raise SessionError(f"{self.path}: timeline already has an entry with id {entry.id}")
            block = _render(self.path, render_block, "timeline", entry_table(entry))
            before = _header_state(self.incident)
            header_changed = self.incident.add_entry(entry, detects)  # ModelError: unchanged
            try:
                if header_changed:
                    self._rewrite(self.incident)
                else:
                    self._append(block)
            except BaseException:
                # Put memory back as it was: the file did not change.
                if self.incident.timeline and self.incident.timeline[-1] is entry:
                    self.incident.timeline.pop()
                for name, value in before.items():
                    setattr(self.incident, name, value)
                raise
            self._ids.add(entry.id)
            self.changes += 1
            self._written(None, (entry,))

    def has_entry(self, entry_id: str) -> bool:
        return entry_id in self._ids

    def append_entries(self, entries: Sequence[TimelineEntry]) -> list[TimelineEntry]:
        """Append entries in one write + fsync, skipping ids already on the timeline.

        For merging others' entries: a batch of 10,000 costs one fsync, and a repeat is a no-op.
        Returns the entries actually added.
        """
        with self._mutex, self._writing():
            new: list[TimelineEntry] = []
            ids = set(self._ids)
            for entry in entries:
                if entry.id not in ids:
                    ids.add(entry.id)
                    new.append(entry)
            if not new:
                return []
            if self.incident.detected_at is None and any(e.kind is Kind.DETECTION for e in new):
                # A first detection changes the header: one rewrite does it all.
                work = self.incident.copy()
                for entry in new:
                    work.add_entry(entry)
                self._check_header(work)
                self._rewrite(work)
                _assign(self.incident, work)
            else:
                tables = [entry_table(entry) for entry in new]
                self._append(_render(self.path, render_blocks, "timeline", tables))
                self.incident.timeline.extend(new)
            self._ids = ids
            self.changes += 1
            self._written(None, new)
            return new

    def append_samples(self, rollups: Sequence[SampleRollup]) -> None:
        """Append sample rollups, all in one write + fsync."""
        if not rollups:
            return
        with self._mutex, self._writing():
            tables = [rollup_table(rollup) for rollup in rollups]
            self._append(_render(self.path, render_blocks, "samples", tables))
            self.incident.samples.extend(rollups)
            self.changes += 1

    def append_action_item(self, item: ActionItem) -> None:
        with self._mutex, self._writing():
            if any(have.id == item.id for have in self.incident.action_items):
                raise SessionError(f"{self.path}: already has an action item with id {item.id}")
            block = _render(self.path, render_block, "action_items", action_item_table(item))
            self._append(block)
            self.incident.action_items.append(item)
            self.changes += 1
            self._written(None, (item,))

    def mutate(self, change: Mutation) -> object:
        """A change described as data (see ``mutations``); one applied already is a no-op."""
        return self.update(change.apply)

    # -- rewrites --------------------------------------------------------------------------

    def update(self, change: Callable[[Incident], T]) -> T:
        """Apply ``change`` to the incident and rewrite the file atomically; returns its result.

        Others' writes are picked up first, under the lock. ``change`` runs on a copy: if it
        raises (ModelError, say) or leaves something that cannot be stored, nothing is written
        and ``incident`` is as it was.
        """
        with self._mutex, self._writing():
            work = self.incident.copy()
            result = change(work)
            self._check_header(work)
            self._rewrite(work)
            before = self.incident.copy() if self._observers else None
            _assign(self.incident, work)
            self._ids = {entry.id for entry in work.timeline}
            self.changes += 1
            if before is not None:
                self._written(before)
            return result

    @contextlib.contextmanager
    def hold(self) -> Iterator[Incident]:
        """The file lock, with ``incident`` caught up: for keeping a side file in step with it."""
        with self._mutex, self._writing():
            yield self.incident

    # -- other writers ---------------------------------------------------------------------

    def refresh(self) -> list[TimelineEntry]:
        """Pick up appends and rewrites made by other processes; returns entries new to us.

        A single stat when nothing changed. Never blocks on a writer: if one holds the lock,
        this returns [] and the next call catches up. Raises SessionError if another process
        left the file unreadable.
        """
        with self._mutex:
            if not self._changed():
                return []
            try:
                with fileio.locked(self.path, exclusive=False, wait=None) as have:
                    return self._sync(recover=False) if have else []
            except OSError as exc:
                raise _os_error(self.path, exc) from None

    # -- internals -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Exclusive lock, then catch up with (and repair after) other writers."""
        try:
            with fileio.locked(self.path, exclusive=True, wait=self.lock_wait):
                self._sync(recover=True)
                if self.schema < SCHEMA:
                    self._upgrade()
                yield
        except fileio.LockTimeout as exc:
            raise SessionLocked(
                f"{self.path}: {exc.strerror} ({fileio.lock_path(self.path)})"
            ) from None
        except OSError as exc:
            raise _os_error(self.path, exc, "cannot write") from None

    def _stat(self) -> os.stat_result:
        try:
            return os.stat(self.path)
        except FileNotFoundError:
            raise SessionError(f"{self.path}: session file has gone away") from None

    def _changed(self) -> bool:
        st = self._stat()
        return _Seen.of(st) != self._seen or self._whole != st.st_size

    def _sync(self, recover: bool) -> list[TimelineEntry]:
        """Bring memory up to date with the file; with ``recover``, cut a torn tail off it."""
        if not self._changed():
            return []
        if self._whole == self._seen.size:
            new = self._read_appended()
            if new is not None:
                return new
        data, st = _read(self.path)
        parsed = _parse_lazily(self.path, data) if self.lazy else _parse(self.path, data)
        new = [entry for entry in parsed.incident.timeline if entry.id not in self._ids]
        _assign(self.incident, parsed.incident)
        self._set_aside(self.path, data, parsed)
        self._ids = {entry.id for entry in self.incident.timeline}
        self._seen = _Seen.of(st)
        self._whole = parsed.whole
        self.schema = parsed.schema
        self.changes += 1
        if recover and parsed.torn is not None:
            self._recover(parsed)
        return new

    def _read_appended(self) -> list[TimelineEntry] | None:
        """Just the blocks appended since we last looked; None when that is not the case."""
        ident = (self._seen.dev, self._seen.ino)
        found = read_appended(self.path, ident, self._seen.size, lazy=self.lazy)
        if found is None:
            return None
        blocks, st = found
        if repeats_ids(self.incident, blocks):
            return None  # the whole read sets them aside and names their lines
        new = [entry for entry in blocks["timeline"] if entry.id not in self._ids]
        self.incident.timeline.extend(blocks["timeline"])
        self.incident.action_items.extend(blocks["action_items"])
        self.incident.samples.extend(blocks["samples"])
        self._ids.update(entry.id for entry in blocks["timeline"])
        self._seen = _Seen.of(st)
        self._whole = st.st_size
        self.changes += 1
        return new

    def _recover(self, parsed: _Parsed) -> None:
        """Keep the torn bytes beside the file, then cut the file back to its whole blocks."""
        assert parsed.torn is not None
        self.recovered_to = fileio.save_beside(self.path, "torn", parsed.torn)
        fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, parsed.whole)
            os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self._seen = _Seen.of(st)
        self._whole = st.st_size

    def _append(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            old = os.fstat(fd).st_size
            try:
                fileio.write_all(fd, data)
                os.fsync(fd)
            except OSError as exc:
                raise self._undo_append(fd, old, exc) from None
            self._seen = _Seen.of(os.fstat(fd))
            self._whole = self._seen.size
        finally:
            os.close(fd)

    def _undo_append(self, fd: int, old: int, exc: OSError) -> SessionError:
        """Cut a failed append back off so no torn block is left behind."""
        reason = exc.strerror or str(exc)
        try:
            os.ftruncate(fd, old)
            os.fsync(fd)
        except OSError:
            self._whole = -1  # unknown: the next write re-reads and recovers the tail
            return SessionError(
                f"{self.path}: append failed ({reason}); the partial block left at the end "
                "is cut off by the next write"
            )
        self._seen = _Seen.of(os.fstat(fd))
        self._whole = self._seen.size
        return SessionError(f"{self.path}: append failed ({reason}); nothing was written")

    def _take_pending(self) -> None:
        """Add what writers that died left in pending files (under the lock), then drop them."""
        files = pending.left_by_dead_writers(self.path)
        if not files:
            return
        found, taken, problems = pending.read_all(files)
        if problems:
            raise SessionError(f"cannot read a pending-writes file: {problems[0]}")
        work = self.incident.copy()
        added = pending.merge_into(work, found)
        if added:
            self._check_header(work)
            self._rewrite(work)
            _assign(self.incident, work)
            self._ids = {entry.id for entry in work.timeline}
            self.changes += 1
        self.pending_added = added
        for file in taken:
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
        fileio.fsync_dir(self.path.parent)

    def _upgrade(self) -> None:
        """One atomic rewrite in today's schema, logged on the timeline (never done silently)."""
        old = self.schema
        work = self.incident.copy()
        if isinstance(work.samples, LazyRollups):
            work.samples.decode()  # every rollup written anew, those a lazy writer kept too
        work.timeline.append(
            TimelineEntry(
                at=utcnow(),
                text=f"session file upgraded from schema {old} to {SCHEMA} (one rewrite; "
                "rollups now keep what the panes show)",
                kind=Kind.NOTE,
                author="warroom",
                source=Source.AUTO,
            )
        )
        self._rewrite(work)
        _assign(self.incident, work)
        self._ids = {entry.id for entry in work.timeline}

    def _check_header(self, incident: Incident) -> None:
        """Refuse a header the file could not be read back with (e.g. severity set directly)."""
        text = _render(self.path, lambda: tomli_w.dumps(header_tables(incident)))
        try:
            decode_header(tomllib.loads(text))
        except FieldError as exc:
            raise SessionError(f"{self.path}: refusing to write: {exc}") from None

    def _rewrite(self, incident: Incident) -> None:
        data = _render(self.path, render_session, incident) + _render_aside(self.duplicates)
        try:
            fileio.replace_atomically(self.path, data)
        except OSError as exc:
            raise SessionError(
                f"{self.path}: rewrite failed ({exc.strerror or exc}); the file is unchanged"
            ) from None
        st = os.stat(self.path)
        self._seen = _Seen.of(st)
        self._whole = st.st_size
        self.schema = SCHEMA


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
    split = _split_rollups(added) if lazy else None
    try:
        doc = tomllib.loads((added if split is None else split.eager).decode("utf-8"))
        if not set(doc) <= set(BLOCKS):
            return None
        blocks = decode_blocks(doc)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError, ValueError):
        return None
    if split is not None:
        kept = split.rollups + ([split.last_rollup] if split.last_rollup is not None else [])
        blocks["samples"] = LazyRollups.of_blocks(kept, _decode_failure(path))
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


def _render_aside(duplicates: Sequence[Duplicate]) -> bytes:
    """The set-aside duplicates as blocks, after the rest of a rewrite (order kept)."""
    tables = {"timeline": entry_table, "action_items": action_item_table}
    return b"".join(
        render_block(dup.section, tables[dup.section](dup.item))  # type: ignore[operator]
        for dup in duplicates
    )


def _render(path: Path, render: Callable[..., T], *args: Any) -> T:
    try:
        return render(*args)
    except FieldError as exc:
        raise SessionError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SessionError(f"{path}: cannot store this value: {exc}") from None
