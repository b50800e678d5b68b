"""The schema, the header ([incident], [target], [share]) and the [[timeline]] and
[[action_items]] blocks, both ways; ids repeated in a list are set aside, not lost.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warroom.dsn import scrub
from warroom.sessions.model import (
    FACTORS,
    KEY_TIMES,
    TEXT_FIELDS,
    ActionItem,
    ActionKind,
    ActionStatus,
    Incident,
    Kind,
    Roles,
    Server,
    Source,
    Status,
    Target,
    TimelineEntry,
)
from warroom.sessions.toml_codec.blocks import render_block
from warroom.sessions.toml_codec.reader import FieldError, _model, _Reader, _Where, describe

SCHEMA = 2  # 2: rollups that can redraw the dashboard (by state, top apps, host, PgBouncer)
OLDEST_SCHEMA = 1
# Keys added within schema 2 are optional and written only when they say something, so a file
# that does not use them is byte for byte what it was and reads anywhere as before (issue 23):
# [incident] contributing_factors (written when there are any) and an action item's status
# (written when ``done`` cannot say it: wont_do).

# Array-of-tables blocks, in the order a rewrite writes them.
BLOCKS: tuple[str, ...] = ("timeline", "action_items", "samples")
TOP_KEYS: frozenset[str] = frozenset({"schema", "incident", "target", "share", *BLOCKS})


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
    if incident.contributing_factors:
        table[FACTORS] = list(incident.contributing_factors)
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
    if item.status is ActionStatus.WONT_DO:
        table["status"] = item.status.value
    table["done"] = item.done  # required and last: see the package docstring
    return table


@functools.lru_cache(maxsize=4096)
def entry_block(entry: TimelineEntry) -> bytes:
    """One entry's block. Entries are frozen, so each is rendered once, not at every rewrite:
    escaping a 1 MB note for TOML is most of a rewrite's cost (a status change, an edit), and a
    long incident's entries are most of its blocks. The hash of the text is Python's, cached
    on the string, so a lookup does not read the text again."""
    return render_block("timeline", entry_table(entry))


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
    values[FACTORS] = r.strings(FACTORS, required=False)
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
        "status": r.choice("status", ActionStatus, required=False),
        "done": r.boolean("done"),
    }
    r.done()
    status, done = values["status"], values.pop("done")
    if status is None:  # written before statuses, or open/done: ``done`` says which
        values["status"] = ActionStatus.DONE if done else ActionStatus.OPEN
    elif (status is ActionStatus.DONE) != done:
        # Two keys that disagree: refuse rather than guess which one a hand edit meant.
        raise where.error("status", f"{status.value!r} disagrees with done = {str(done).lower()}")
    return _model(where, lambda: ActionItem(**values))


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
