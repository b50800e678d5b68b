"""Which servers `warroom watch` watches: repeated ``--dsn``, ``--target NAME``, or the config.

The config file's ``[[targets]]`` name each server once (the name the strip, the timeline and
the rollups use)::

    [[targets]]
    name = "primary"
    dsn = "host=db1 dbname=orders user=warroom"
    pgbouncer = "host=db1 port=6432 dbname=pgbouncer user=warroom"   # optional

    [[targets]]
    name = "replica-1"
    dsn = "host=db2 dbname=orders user=warroom"

Resolution, first match wins: ``--target NAME`` (repeatable) picks from the config; ``--dsn``
(repeatable; ``--pgbouncer`` pairs by position, ``""`` for none) names each server
``host:port``; a resumed session watches what it watched; else every configured target; else one
server from libpq's environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from warroom.collectors.dsn import server_name
from warroom.config import ConfigError, config_path, read_config
from warroom.errors import UserError
from warroom.sessions.model import Server, Target

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,39}")
MAX_SERVERS = 9  # the strip's number keys


class TargetError(UserError):
    """The servers asked for cannot be resolved; one line for the user."""


def parse_targets(data: Mapping[str, Any], source: str = "config") -> list[Server]:
    listed = data.get("targets", [])
    if not isinstance(listed, list) or any(not isinstance(t, dict) for t in listed):
        raise ConfigError(f"{source}: targets: expected [[targets]] tables")
    servers: list[Server] = []
    for i, table in enumerate(listed):
        where = f"{source}: targets[{i}]"
        unknown = set(table) - {"name", "dsn", "pgbouncer"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: name, dsn, "
                              "pgbouncer)")  # fmt: skip
        values = {key: table.get(key, "") for key in ("name", "dsn", "pgbouncer")}
        for key, value in values.items():
            if not isinstance(value, str):
                raise ConfigError(f"{where}.{key}: expected a string")
        if not NAME.fullmatch(values["name"]):
            raise ConfigError(f"{where}.name: expected 1-40 letters, digits or _.:@- "
                              f"(got {values['name']!r})")  # fmt: skip
        if not values["dsn"]:
            raise ConfigError(f"{where}.dsn: missing")
        if any(s.name == values["name"] for s in servers):
            raise ConfigError(f"{where}.name: {values['name']!r} is listed twice")
        servers.append(Server(values["name"], values["dsn"], values["pgbouncer"]))
    if len(servers) > MAX_SERVERS:
        raise ConfigError(f"{source}: targets: at most {MAX_SERVERS} servers")
    return servers


def load_targets(path: Path | None = None) -> list[Server]:
    found = read_config(path)
    return parse_targets(found.data, str(found.where))


def names_of(dsns: Sequence[str]) -> list[str]:
    """Each DSN's ``host:port``; a repeat (two databases on one server) gets ``-2``, ``-3``."""
    names: list[str] = []
    for dsn in dsns:
        base = server_name(dsn)
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def paired(dsns: Sequence[str], pgbouncers: Sequence[str]) -> list[str]:
    """Each server's PgBouncer DSN, by position (``""`` for none); more than servers is an error."""
    if len(pgbouncers) > max(len(dsns), 1):
        raise TargetError(f"{len(pgbouncers)} --pgbouncer for {len(dsns)} --dsn: each "
                          "--pgbouncer pairs with the --dsn at its position")  # fmt: skip
    return [pgbouncers[i] if i < len(pgbouncers) else "" for i in range(max(len(dsns), 1))]


def from_dsns(dsns: Sequence[str], pgbouncers: Sequence[str]) -> list[Server]:
    bouncers = paired(dsns, pgbouncers)
    dsns = list(dsns) or [""]
    named = zip(names_of(dsns), dsns, bouncers, strict=True)
    servers = [Server(name, dsn, bouncer) for name, dsn, bouncer in named]
    if len(servers) > MAX_SERVERS:
        raise TargetError(f"at most {MAX_SERVERS} servers (the strip's keys 1-9)")
    return servers


def choose(
    dsns: Sequence[str],
    pgbouncers: Sequence[str],
    names: Sequence[str],
    resumed: Target | None = None,
    configured: Sequence[Server] | None = None,
) -> list[Server]:
    """The servers to watch, in strip order (see the module docstring for the rules)."""
    if names and dsns:
        raise TargetError("--target and --dsn cannot be combined: name servers in one place")
    if names:
        known = list(configured if configured is not None else load_targets())
        picked = []
        for name in names:
            match = next((s for s in known if s.name == name), None)
            if match is None:
                listed = ", ".join(s.name for s in known) or "none: add [[targets]] to the config"
                raise TargetError(f"no target named {name!r} in {config_path()} "
                                  f"(known: {listed})")  # fmt: skip
            if match not in picked:
                picked.append(match)
        return picked
    if dsns:
        return from_dsns(dsns, pgbouncers)
    if resumed is not None:
        if resumed.servers:
            return list(resumed.servers)
        # As before several servers: the record's server, PgBouncer only when asked for.
        return [Server(server_name(resumed.dsn), resumed.dsn, pgbouncers[0] if pgbouncers else "")]
    known = list(configured if configured is not None else load_targets())
    if known and not pgbouncers:
        return known
    return from_dsns([], pgbouncers)
