"""One session as the history needs it: the header, the finding entries and the action items,
never the rollups.

A session of eight hours is mostly ``[[samples]]`` blocks, and the history reads hundreds of
sessions: parsing each file whole would take seconds. The header comes from ``load_header``
(the part before the first block); every value in a session file is on one line and a line
starting with ``[[`` is always a block header (toml_codec), so the ``[[timeline]]`` blocks of
kind ``finding`` and the ``[[action_items]]`` blocks are cut out by their headers and parsed
alone; the rollups are skipped by a byte search. A file written otherwise (a hand edit) is read
whole by the ordinary loader, which says what is wrong with it if anything is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warroom.sessions.model import ActionItem, Incident, Kind, TimelineEntry
from warroom.sessions.store import SessionError, load, load_header
from warroom.sessions.store.parse import tomllib  # tomli where installed: compiled
from warroom.sessions.toml_codec import FieldError, decode_action_item, decode_entry

_TIMELINE = b"\n[[timeline]]\n"
_ACTION = b"\n[[action_items]]\n"
_FINDING = b'\nkind = "finding"\n'


@dataclass(frozen=True, slots=True)
class Summary:
    """What the history counts of one incident."""

    incident: Incident  # the header; its lists are empty
    findings: tuple[TimelineEntry, ...]
    action_items: tuple[ActionItem, ...]
    where: str  # the file, or the ops database it was read from


class _Uncut(Exception):
    """The file is not laid out as warroom writes it: read it whole."""


def _blocks(data: bytes, header: bytes, wanted: bytes | None) -> list[object]:
    """The tables of the blocks opened by ``header`` (those holding ``wanted``, if given),
    parsed one by one. A torn last block is left out, as every reader leaves it."""
    tables: list[object] = []
    start = data.find(header)
    while start >= 0:
        end = data.find(b"\n[[", start + 1)
        block = data[start + 1 : end + 1 if end >= 0 else len(data)]
        if wanted is None or wanted in block:
            try:
                found = tomllib.loads(block.decode("utf-8"))
                tables.append(next(iter(found.values()))[0])
            except (UnicodeDecodeError, tomllib.TOMLDecodeError, StopIteration, IndexError,
                    KeyError, TypeError):
                if end >= 0:  # not the torn tail
                    raise _Uncut from None
        start = data.find(header, end) if end >= 0 else -1
    return tables


def _first_of_each(items: list[ActionItem]) -> tuple[ActionItem, ...]:
    """The first item of each id, as every reader shows an id used twice."""
    seen: dict[str, ActionItem] = {}
    for item in items:
        seen.setdefault(item.id, item)
    return tuple(seen.values())


def read_summary(path: Path) -> Summary:
    """The incident at ``path`` for the history; SessionError when it cannot be read."""
    header = load_header(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SessionError(f"{path}: {exc.strerror or exc}") from None
    if b'"""' in data or b"'''" in data:
        return _whole(path)
    try:
        entries = [decode_entry(t, i) for i, t in enumerate(_blocks(data, _TIMELINE, _FINDING))]
        items = [decode_action_item(t, i) for i, t in enumerate(_blocks(data, _ACTION, None))]
    except (_Uncut, FieldError):
        return _whole(path)
    findings = tuple(e for e in entries if e.kind is Kind.FINDING)
    return Summary(header, findings, _first_of_each(items), str(path))


def _whole(path: Path) -> Summary:
    incident = load(path, lazy=True, warn=False).incident
    return of_incident(incident, str(path))


def of_incident(incident: Incident, where: str) -> Summary:
    """An incident already in memory (a shared one folded from its events) as a Summary."""
    findings = tuple(e for e in incident.timeline if e.kind is Kind.FINDING)
    return Summary(incident, findings, _first_of_each(list(incident.action_items)), where)
