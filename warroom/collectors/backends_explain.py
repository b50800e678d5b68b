"""EXPLAIN for the backends view: the statement to send for a backend's query text, or why none.

The text comes from pg_stat_activity, which anyone who can connect writes to. So it is sent as
one statement of the extended protocol (a second statement after a ';' is refused by the
server), behind an explicit option list (``EXPLAIN (ANALYZE false, ...)``, so text that starts
with ``ANALYZE`` or ``(ANALYZE)`` is a syntax error, never an executed statement), on the
monitoring connection whose session is read-only and carries a short statement and lock
timeout. Only statements EXPLAIN can plan are sent; a parameterised one ($1...) gets a generic
plan on 16+ (``GENERIC_PLAN``), and is refused before, as are utility statements and text the
server cut short.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# What EXPLAIN plans. CREATE TABLE AS and DECLARE also are, but name a utility the reader
# would have to think about; EXECUTE names another session's prepared statement, unknown here.
_PLANNABLE = frozenset({"select", "with", "insert", "update", "delete", "merge", "values",
                        "table"})  # fmt: skip
_COMMENT = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.S)
# Literals and quoted names, where '$1' is text and not a parameter (dollar quotes never start
# with a digit, so $1 is always a parameter outside these).
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(\$[A-Za-z_]\w*\$|\$\$).*?\1", re.S)
_PARAM = re.compile(r"\$[0-9]+")
GENERIC_PLAN_VERSION = 160000


@dataclass(frozen=True, slots=True)
class Unexplainable:
    """Why a query is not sent to EXPLAIN."""

    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    lines: tuple[str, ...]  # the plan as EXPLAIN's text format would indent it, raw
    generic: bool  # a generic plan (parameters left unbound)


def first_word(query: str) -> str:
    """The statement's first keyword, lower case, after comments and opening parentheses."""
    text = query
    while True:
        m = _COMMENT.match(text)
        if not m or not m.group(0):
            break
        text = text[m.end():]
    text = text.lstrip().lstrip("(").lstrip()
    m = re.match(r"[A-Za-z]+", text)
    return m.group(0).lower() if m else ""


def has_parameters(query: str) -> bool:
    return bool(_PARAM.search(_QUOTED.sub("", _COMMENT.sub(" ", query))))


def statement(query: str, truncated: bool, server_version: int) -> str | Unexplainable:
    """The EXPLAIN to send for ``query``, or why it cannot be explained."""
    if not query.strip():
        return Unexplainable("no query text (the backend has run nothing yet, or the role "
                             "may not read other sessions' queries)")
    if truncated:
        return Unexplainable("the text is cut short (track_activity_query_size): it is not "
                             "the whole statement")
    word = first_word(query)
    if word not in _PLANNABLE:
        name = word.upper() or "this text"
        return Unexplainable(f"{name} is not a statement EXPLAIN plans (a utility or "
                             "transaction command)")
    generic = has_parameters(query)
    if generic and server_version < GENERIC_PLAN_VERSION:
        return Unexplainable("it has parameters ($1...): a generic plan needs PostgreSQL 16 "
                             "or later")
    options = "ANALYZE false, COSTS true, FORMAT JSON" + (", GENERIC_PLAN" if generic else "")
    # A newline first: a '--' comment at the end of the text cannot swallow anything of ours.
    return f"EXPLAIN ({options})\n{query.rstrip().rstrip(';')}\n"


def parse_plan(text: str, generic: bool) -> Plan:
    """EXPLAIN's JSON as the lines its text format would show (the nodes, costs, conditions)."""
    doc: list[dict[str, Any]] = json.loads(text)
    lines: list[str] = []
    _node(doc[0]["Plan"], 0, lines)
    return Plan(tuple(lines), generic)


_CONDITIONS = ("Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "Join Filter", "Filter",
               "Sort Key", "Group Key")  # fmt: skip


_AGGREGATE = {"Hashed": "HashAggregate", "Sorted": "GroupAggregate", "Mixed": "MixedAggregate"}


def _name(node: dict[str, Any]) -> str:
    """The node's name as the text format gives it."""
    kind = str(node.get("Node Type", "?"))
    if kind == "ModifyTable":
        return str(node.get("Operation", kind))  # Insert, Update, Delete, Merge
    if kind == "Aggregate":
        return _AGGREGATE.get(str(node.get("Strategy")), kind)
    if node.get("Scan Direction") == "Backward":
        return f"{kind} Backward"
    return kind


def _node(node: dict[str, Any], depth: int, lines: list[str]) -> None:
    # The text format's layout: a child's arrow 6 cells right of its parent's, properties
    # under the name.
    pad = " " * (2 + 6 * (depth - 1)) if depth else ""
    arrow = "->  " if depth else ""
    if node.get("Subplan Name"):  # CTE d, InitPlan 1, SubPlan 2: named above its node
        lines.append(f"{pad}{node['Subplan Name']}")
    name = _name(node)
    join = node.get("Join Type")
    if join and join != "Inner":  # as the text format says it: Hash Left Join, Nested Loop Anti
        name = (f"{name[:-5]} {join} Join" if name.endswith(" Join")
                else f"{name} {join} Join")  # fmt: skip
    if node.get("Index Name"):
        name += f" using {node['Index Name']}"
    for key in ("CTE Name", "Function Name"):
        if node.get(key):
            name += f" on {node[key]}"
    if node.get("Relation Name"):
        alias = node.get("Alias")
        name += f" on {node['Relation Name']}"
        if alias and alias != node["Relation Name"]:
            name += f" {alias}"
    cost = (f"  (cost={node.get('Startup Cost', 0):.2f}..{node.get('Total Cost', 0):.2f}"
            f" rows={node.get('Plan Rows', 0)} width={node.get('Plan Width', 0)})")
    lines.append(f"{pad}{arrow}{name}{cost}")
    inner = pad + ("      " if depth else "  ")
    for key in _CONDITIONS:
        value = node.get(key)
        if value:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"{inner}{key}: {shown}")
    for child in node.get("Plans", ()):
        _node(child, depth + 1, lines)
