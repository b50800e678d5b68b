"""The [[samples]] blocks (rollups), both ways: the keys, the row shapes, and a fast decode
that checks each value once, falling back to the field-naming reader when one is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from warroom.rollup import group_of_row, group_row
from warroom.sessions.model import PoolFigure, RefusedFigure, SampleRollup
from warroom.sessions.toml_codec.reader import _model, _Reader, _Where, describe

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
    # issue 21: "recorder" on the lead-up's rollups; absent on the incident's own
    "source",
)
_ROLLUP_INTS = frozenset({"conn_min", "conn_max", "max_connections", "conn_last", "usable",
                          "waiting", "bouncer_waiting", "lag_bytes"})
_ROLLUP_STRINGS = frozenset({"down_kind", "bouncer_error", "server", "role", "repl_state",
                             "log_source", "source"})
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
    table["refused"] = rollup.refused  # required and last: see the package docstring
    return table


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
