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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, TypeVar

import tomli_w

from warroom.dsn import scrub
from warroom.rollup import group_of_row, group_row
from warroom.sessions.model import (
    KEY_TIMES,
    TEXT_FIELDS,
    ActionItem,
    ActionKind,
    Incident,
    Kind,
    ModelError,
    PoolFigure,
    RefusedFigure,
    Roles,
    SampleRollup,
    Server,
    Source,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.times import TimeError

SCHEMA = 2  # 2: rollups that can redraw the dashboard (by state, top apps, host, PgBouncer)
OLDEST_SCHEMA = 1

# Array-of-tables blocks, in the order a rewrite writes them.
BLOCKS: tuple[str, ...] = ("timeline", "action_items", "samples")
TOP_KEYS: frozenset[str] = frozenset({"schema", "incident", "target", "share", *BLOCKS})

_E = TypeVar("_E", bound=StrEnum)


class FieldError(ValueError):
    """A value in the file the model cannot take.

    ``section``/``index``/``key`` locate it so the store can add a line number; ``missing``
    marks an absent required key (a block cut off mid-write looks exactly like that).
    """

    def __init__(
        self,
        message: str,
        *,
        section: str | None = None,
        index: int | None = None,
        key: str | None = None,
        missing: bool = False,
    ) -> None:
        super().__init__(message)
        self.section = section
        self.index = index
        self.key = key
        self.missing = missing


# -- writing ---------------------------------------------------------------------------------


def scrub_dsn(dsn: str) -> str:
    """``dsn`` without a password, whatever form it came in (URI or key=value); never raises.

    Whoever builds a Target is meant to strip it already; this is the last line of defence so
    a password can never reach the session file: warroom.dsn's one stripper, as its guard.
    """
    return scrub(dsn)


def header_tables(incident: Incident) -> dict[str, Any]:
    """The part before the first block: schema (first), [incident] (+ roles), [target]."""
    table: dict[str, Any] = {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status.value,
    }
    for name in KEY_TIMES:
        value = getattr(incident, name)
        if value is not None:
            table[name] = value
    for name in TEXT_FIELDS:
        table[name] = getattr(incident, name)
    table["roles"] = {
        "commander": incident.roles.commander,
        "scribe": incident.roles.scribe,
        "comms": incident.roles.comms,
    }
    tables: dict[str, Any] = {
        "schema": SCHEMA,
        "incident": table,
        "target": {
            "dsn": scrub_dsn(incident.target.dsn),
            "pgbouncer": scrub_dsn(incident.target.pgbouncer),
        },
    }
    if incident.target.servers:
        # [target.servers.NAME] tables, in watch order (TOML tables keep their order).
        tables["target"]["servers"] = {
            server.name: {"dsn": scrub_dsn(server.dsn), "pgbouncer": scrub_dsn(server.pgbouncer)}
            for server in incident.target.servers
        }
    if incident.share:
        # Only shared incidents carry [share], so files that are not stay as they were.
        tables["share"] = {"dsn": scrub_dsn(incident.share)}
    return tables


def entry_table(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "kind": entry.kind.value,
        "text": entry.text,
        "author": entry.author,
        "source": entry.source.value,
    }


def action_item_table(item: ActionItem) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": item.id,
        "text": item.text,
        "owner": item.owner,
        "kind": item.kind.value,
    }
    if item.due is not None:
        table["due"] = item.due
    table["done"] = item.done  # required and last: see the module docstring
    return table


_ROLLUP_OPTIONAL: tuple[str, ...] = (
    "conn_min",
    "conn_mean",
    "conn_max",
    "max_connections",
    "query_p50_ms",
    "query_p95_ms",
    "query_max_ms",
    "connect_max_ms",
    # schema 2
    "conn_last",
    "usable",
    "waiting",
    "query_p99_ms",
    "connect_ms",
    "down_kind",
    "tps",
    "host_cpu",
    "host_mem",
    "host_swap",
    "host_load",
    "bouncer_waiting",
    "bouncer_maxwait_s",
    "bouncer_error",
    # several servers
    "server",
    "role",
    "lag_bytes",
    "lag_s",
    "repl_state",
    # issue 19: optional keys of schema 2 (files without them read as before)
    "log_source",
)
_ROLLUP_INTS = frozenset({"conn_min", "conn_max", "max_connections", "conn_last", "usable",
                          "waiting", "bouncer_waiting", "lag_bytes"})
_ROLLUP_STRINGS = frozenset({"down_kind", "bouncer_error", "server", "role", "repl_state",
                             "log_source"})
# name -> count tables, written as one-line inline tables ({ idle = 40, active = 4 }).
_ROLLUP_PAIRS: tuple[str, ...] = ("by_state", "refused_by", "host_tcp", "log_counts")
# (name, count) rows, most first: names are anyone's text, so rows, not table keys.
_ROLLUP_NAMED: tuple[str, ...] = ("top_apps", "top_users", "top_clients")
_GROUP_KEYS = "[application, user, count, client_count, client, client_connections]"
_REFUSED_KEYS = "[user, database, client, count]"
_POOL_KEYS: tuple[str, ...] = ("name", "cl_active", "cl_waiting", "sv_active", "sv_idle",
                               "maxwait_s")


def rollup_table(rollup: SampleRollup) -> dict[str, Any]:
    table: dict[str, Any] = {
        "at": rollup.at,
        "seconds": rollup.seconds,
        "samples": rollup.samples,
        "status": rollup.status,
    }
    for name in _ROLLUP_OPTIONAL:
        value = getattr(rollup, name)
        if value is not None:
            table[name] = value
    for name in _ROLLUP_PAIRS:
        pairs = getattr(rollup, name)
        if pairs:
            table[name] = dict(pairs)
    # Rows as short arrays ([name, count]; a pool's figures in _POOL_KEYS order): an 8-hour
    # session holds 2,880 of these, and its size is what loading it costs.
    for name in _ROLLUP_NAMED:
        rows = getattr(rollup, name)
        if rows:
            table[name] = [[n, c] for n, c in rows]
    if rollup.bouncer_pools:
        table["bouncer_pools"] = [
            [getattr(pool, key) for key in _POOL_KEYS] for pool in rollup.bouncer_pools
        ]
    if rollup.top_groups:
        table["top_groups"] = [list(group_row(g)) for g in rollup.top_groups]
    if rollup.log_refused_top:
        table["log_refused_top"] = [[f.user, f.database, f.client, f.count]
                                    for f in rollup.log_refused_top]
    table["refused"] = rollup.refused  # required and last: see the module docstring
    return table


# Every key a block may hold; the torn-tail check uses it to tell a cut-off write from garbage.
BLOCK_KEYS: dict[str, frozenset[str]] = {
    "timeline": frozenset({"id", "at", "kind", "text", "author", "source"}),
    "action_items": frozenset({"id", "text", "owner", "kind", "due", "done"}),
    "samples": frozenset({"at", "seconds", "samples", "status", "refused", *_ROLLUP_OPTIONAL,
                          *_ROLLUP_PAIRS, *_ROLLUP_NAMED, "bouncer_pools", "top_groups",
                          "log_refused_top"}),
}


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


@functools.lru_cache(maxsize=4096)
def entry_block(entry: TimelineEntry) -> bytes:
    """One entry's block. Entries are frozen, so each is rendered once, not at every rewrite:
    escaping a 1 MB note for TOML is most of a rewrite's cost (a status change, an edit), and a
    long incident's entries are most of its blocks. The hash of the text is Python's, cached
    on the string, so a lookup does not read the text again."""
    return render_block("timeline", entry_table(entry))


def render_document(incident: Incident) -> bytes:
    """The whole file, as a rewrite writes it."""
    parts = [_encode(tomli_w.dumps(header_tables(incident)))]
    parts.extend(entry_block(e) for e in incident.timeline)
    parts.extend(render_block("action_items", action_item_table(a)) for a in incident.action_items)
    parts.extend(render_block("samples", rollup_table(r)) for r in incident.samples)
    return b"".join(parts)


# -- reading ---------------------------------------------------------------------------------


def describe(value: object) -> str:
    """A TOML value's type as a user would name it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, datetime):
        return "a local datetime" if value.tzinfo is None else "an offset datetime"
    if isinstance(value, date):
        return "a local date"
    if isinstance(value, time):
        return "a local time"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a table sits in the document, for error messages."""

    label: str  # e.g. "timeline[3]" or "incident"
    section: str | None
    index: int | None = None

    def error(self, key: str | None, message: str, missing: bool = False) -> FieldError:
        place = f"{self.label}.{key}" if key and self.label else (key or self.label)
        return FieldError(
            f"{place}: {message}",
            section=self.section,
            index=self.index,
            key=key,
            missing=missing,
        )


class _Reader:
    """Typed access to one table; remembers which keys were consumed to spot unknown ones."""

    def __init__(self, table: object, where: _Where) -> None:
        if not isinstance(table, dict):
            raise where.error(None, f"expected a table, got {describe(table)}")
        self.table: dict[str, Any] = table
        self.where = where
        self.seen: set[str] = set()

    def _get(self, key: str, required: bool) -> object:
        self.seen.add(key)
        if key not in self.table:
            if required:
                raise self.where.error(key, "missing", missing=True)
            return None
        return self.table[key]

    def _typed(self, key: str, required: bool, ok: Callable[[object], bool], want: str) -> Any:
        value = self._get(key, required)
        if value is not None and not ok(value):
            raise self.where.error(key, f"expected {want}, got {describe(value)}")
        return value

    def string(self, key: str, required: bool = True, default: str = "") -> str:
        value = self._typed(key, required, lambda v: isinstance(v, str), "a string")
        return default if value is None else value

    def integer(self, key: str, required: bool = True) -> int | None:
        return self._typed(
            key, required, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"
        )

    def number(self, key: str, required: bool = True) -> float | None:
        value = self._typed(
            key,
            required,
            lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "a number",
        )
        return None if value is None else float(value)

    def boolean(self, key: str, required: bool = True) -> bool | None:
        return self._typed(key, required, lambda v: isinstance(v, bool), "a boolean")

    def moment(self, key: str, required: bool = True) -> datetime | None:
        return self._typed(
            key,
            required,
            lambda v: isinstance(v, datetime) and v.tzinfo is not None,
            "an offset datetime",
        )

    def day(self, key: str, required: bool = True) -> date | None:
        return self._typed(
            key,
            required,
            lambda v: isinstance(v, date) and not isinstance(v, datetime),
            "a local date",
        )

    def choice(self, key: str, enum: type[_E], required: bool = True) -> _E | None:
        value = self.string(key, required, default="")
        if not required and key not in self.table:
            return None
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(member.value for member in enum)
            raise self.where.error(
                key, f"unknown value {value!r} (choose from {choices})"
            ) from None

    def sub(self, key: str, label: str, section: str) -> _Reader | None:
        value = self._get(key, required=False)
        if value is None:
            return None
        return _Reader(value, _Where(label, section))

    def done(self) -> None:
        for key in self.table:
            if key not in self.seen:
                raise self.where.error(key, "unknown key")


def _model(where: _Where, build: Callable[[], Any]) -> Any:
    """Run a model constructor, turning its refusals into a FieldError at ``where``."""
    try:
        return build()
    except (ModelError, TimeError, ValueError) as exc:
        raise where.error(None, str(exc)) from None


def check_schema(doc: Mapping[str, Any]) -> None:
    top = _Where("", None)
    if "schema" not in doc:
        raise top.error("schema", "missing (not a warroom session file?)", missing=True)
    schema = doc["schema"]
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise top.error("schema", f"expected an integer, got {describe(schema)}")
    if schema > SCHEMA:
        raise top.error(
            "schema", f"written by a newer warroom (schema {schema}; this one reads {SCHEMA})"
        )
    if schema < OLDEST_SCHEMA:
        raise top.error("schema", f"unknown schema {schema} (this warroom reads {SCHEMA})")


def decode_header(doc: Mapping[str, Any]) -> Incident:
    """schema, [incident] and [target]; blocks are ignored here (see decode_document)."""
    check_schema(doc)
    if "incident" not in doc:
        raise FieldError("incident: missing table", section=None, key="incident", missing=True)
    r = _Reader(doc["incident"], _Where("incident", "incident"))
    values: dict[str, Any] = {
        "id": r.string("id"),
        "title": r.string("title"),
        "severity": r.string("severity"),
        "status": r.choice("status", Status),
        "started_at": r.moment("started_at"),
    }
    for name in KEY_TIMES[1:]:
        values[name] = r.moment(name, required=False)
    for name in TEXT_FIELDS:
        values[name] = r.string(name, required=False)
    roles = Roles()
    sub = r.sub("roles", "incident.roles", "incident.roles")
    if sub is not None:
        roles = Roles(
            commander=sub.string("commander", required=False),
            scribe=sub.string("scribe", required=False),
            comms=sub.string("comms", required=False),
        )
        sub.done()
    r.done()
    target = Target()
    if "target" in doc:
        t = _Reader(doc["target"], _Where("target", "target"))
        servers: list[Server] = []
        listed = t.sub("servers", "target.servers", "target")
        if listed is not None:
            for name in list(listed.table):
                one = listed.sub(name, f"target.servers.{name}", "target")
                assert one is not None
                dsn, bouncer = one.string("dsn", False), one.string("pgbouncer", False)
                servers.append(Server(name, dsn, bouncer))
                one.done()
            listed.done()
        target = Target(dsn=t.string("dsn", required=False), pgbouncer=t.string("pgbouncer", False),
                        servers=tuple(servers))
        t.done()
    share = ""
    if "share" in doc:
        sh = _Reader(doc["share"], _Where("share", "share"))
        share = sh.string("dsn", required=False)
        sh.done()
    return _model(
        _Where("incident", "incident"),
        lambda: Incident(**values, roles=roles, target=target, share=share),
    )


def decode_entry(table: object, index: int) -> TimelineEntry:
    where = _Where(f"timeline[{index}]", "timeline", index)
    r = _Reader(table, where)
    values = {
        "id": r.string("id"),
        "at": r.moment("at"),
        "kind": r.choice("kind", Kind),
        "text": r.string("text"),
        "author": r.string("author"),
        "source": r.choice("source", Source),
    }
    r.done()
    return _model(where, lambda: TimelineEntry(**values))


def decode_action_item(table: object, index: int) -> ActionItem:
    where = _Where(f"action_items[{index}]", "action_items", index)
    r = _Reader(table, where)
    values = {
        "id": r.string("id"),
        "text": r.string("text"),
        "owner": r.string("owner"),
        "kind": r.choice("kind", ActionKind),
        "due": r.day("due", required=False),
        "done": r.boolean("done"),
    }
    r.done()
    return _model(where, lambda: ActionItem(**values))


def _is_int(v: object) -> bool:
    return type(v) is int


def _is_number(v: object) -> bool:
    return type(v) is int or type(v) is float


def _is_moment(v: object) -> bool:
    return isinstance(v, datetime) and v.tzinfo is not None


def _is_pairs(v: object) -> bool:
    return isinstance(v, dict) and all(type(c) is int for c in v.values())


def _is_rows(shape: tuple[Callable[[object], bool], ...]) -> Callable[[object], bool]:
    def check(v: object) -> bool:
        return isinstance(v, list) and all(
            isinstance(row, list) and len(row) == len(shape)
            and all(ok(x) for ok, x in zip(shape, row, strict=True))
            for row in v
        )

    return check


def _is_str(v: object) -> bool:
    return isinstance(v, str)


_APP_ROW = (_is_str, _is_int)
_POOL_ROW = (_is_str, _is_int, _is_int, _is_int, _is_int, _is_number)
_GROUP_ROW = (_is_str, _is_str, _is_int, _is_int, _is_str, _is_int)
_REFUSED_ROW = (_is_str, _is_str, _is_str, _is_int)
_ROLLUP_CHECKS: dict[str, Callable[[object], bool]] = {
    "at": _is_moment, "seconds": _is_number, "samples": _is_int, "status": _is_str,
    "refused": _is_int,
    **{name: (_is_int if name in _ROLLUP_INTS else _is_str if name in _ROLLUP_STRINGS
              else _is_number) for name in _ROLLUP_OPTIONAL},
    **{name: _is_pairs for name in _ROLLUP_PAIRS},
    **{name: _is_rows(_APP_ROW) for name in _ROLLUP_NAMED},
    "bouncer_pools": _is_rows(_POOL_ROW), "top_groups": _is_rows(_GROUP_ROW),
    "log_refused_top": _is_rows(_REFUSED_ROW),
}  # fmt: skip
_ROLLUP_REQUIRED = ("at", "seconds", "samples", "status", "refused")
_ROLLUP_FLOATS = frozenset(
    name for name in ("seconds", *_ROLLUP_OPTIONAL)
    if name not in _ROLLUP_INTS and name not in _ROLLUP_STRINGS
)


def decode_rollup(table: object, index: int) -> SampleRollup:
    """One rollup; the common case checks each value once, a bad one gets the full reader.

    An 8-hour session holds 2,880 rollups of some 30 figures each: the field-by-field reader
    that names a bad value's place costs more than parsing the file, so it only runs when a
    value is wrong (to say which).
    """
    if isinstance(table, dict) and all(k in table for k in _ROLLUP_REQUIRED):
        checks = _ROLLUP_CHECKS
        if all(k in checks and checks[k](v) for k, v in table.items()):
            values = {k: (float(v) if k in _ROLLUP_FLOATS else v) for k, v in table.items()}
            for name in _ROLLUP_NAMED:
                if name in values:
                    values[name] = tuple((n, c) for n, c in values[name])
            if "top_groups" in values:
                values["top_groups"] = tuple(group_of_row(*row) for row in values["top_groups"])
            if "log_refused_top" in values:
                values["log_refused_top"] = tuple(
                    RefusedFigure(*row) for row in values["log_refused_top"]
                )
            if "bouncer_pools" in values:
                values["bouncer_pools"] = tuple(PoolFigure(*row) for row in values["bouncer_pools"])
            for name in _ROLLUP_PAIRS:
                if name in values:
                    values[name] = tuple(values[name].items())
            where = _Where(f"samples[{index}]", "samples", index)
            return _model(where, lambda: SampleRollup(**values))
    return _decode_rollup_checked(table, index)


def _decode_rollup_checked(table: object, index: int) -> SampleRollup:
    where = _Where(f"samples[{index}]", "samples", index)
    r = _Reader(table, where)
    values: dict[str, Any] = {
        "at": r.moment("at"),
        "seconds": r.number("seconds"),
        "samples": r.integer("samples"),
        "status": r.string("status"),
        "refused": r.integer("refused"),
    }
    for name in _ROLLUP_OPTIONAL:
        if name in _ROLLUP_INTS:
            values[name] = r.integer(name, False)
        elif name in _ROLLUP_STRINGS:
            values[name] = r.string(name, False, default="") or None
        else:
            values[name] = r.number(name, False)
    for name in _ROLLUP_PAIRS:
        values[name] = _pairs(r, name)
    for name in _ROLLUP_NAMED:
        values[name] = tuple((n, c) for n, c in _rows(r, name, _APP_ROW, "[name, count]"))
    values["top_groups"] = tuple(
        group_of_row(*row) for row in _rows(r, "top_groups", _GROUP_ROW, _GROUP_KEYS)
    )
    values["log_refused_top"] = tuple(
        RefusedFigure(*row) for row in _rows(r, "log_refused_top", _REFUSED_ROW, _REFUSED_KEYS)
    )
    values["bouncer_pools"] = tuple(
        PoolFigure(*row) for row in _rows(r, "bouncer_pools", _POOL_ROW, "[" + ", ".join(
            _POOL_KEYS) + "]")
    )
    r.done()
    return _model(where, lambda: SampleRollup(**values))


def _pairs(r: _Reader, key: str) -> tuple[tuple[str, int], ...]:
    value = r._typed(key, False, lambda v: isinstance(v, dict), "a table")
    if value is None:
        return ()
    sub = _Reader(value, _Where(f"{r.where.label}.{key}", r.where.section, r.where.index))
    out = tuple((name, sub.integer(name) or 0) for name in value)
    sub.done()
    return out


def _rows(
    r: _Reader, key: str, shape: tuple[Callable[[object], bool], ...], want: str
) -> list[list[Any]]:
    value = r._typed(key, False, lambda v: isinstance(v, list), "an array")
    rows: list[list[Any]] = []
    for i, row in enumerate(value or []):
        if not _is_rows(shape)([row]):
            raise r.where.error(f"{key}[{i}]", f"expected {want}, got {describe(row)}")
        rows.append(row)
    return rows


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


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A timeline entry or action item whose id an earlier one of its list has."""

    section: str  # "timeline" or "action_items"
    index: int  # its place among the section's blocks, in file order
    first: int  # the place of the earlier one, which readers keep
    item: TimelineEntry | ActionItem


def set_duplicates_aside(incident: Incident) -> tuple[Duplicate, ...]:
    """Take out of ``incident`` every entry and action item whose id came earlier in its list.

    A hand edit or a merge can leave an id twice; every reader shows an id once (the table
    keys rows by it, edits and deletes name it), so all of them keep the first, and writers
    write the others back as they were (``Store``) rather than lose them.
    """
    found: list[Duplicate] = []
    for section in ("timeline", "action_items"):
        items: list[Any] = getattr(incident, section)
        first: dict[str, int] = {}
        kept: list[Any] = []
        for index, item in enumerate(items):
            if item.id in first:
                found.append(Duplicate(section, index, first[item.id], item))
            else:
                first[item.id] = index
                kept.append(item)
        if len(kept) != len(items):
            setattr(incident, section, kept)
    return tuple(found)


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
