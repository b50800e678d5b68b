"""``[[notify]]``: the destinations events are sent to, parsed and checked here.

Each entry is a webhook (``url`` or ``url_env``, ``headers_env``, ``format``) or a ``command``,
with the events it wants. Secrets stay in the environment: a destination keeps the *names* of
its variables and resolves them only when a message is sent (``resolve``), so nothing this
package writes (the outbox, a log line, an error) can hold them.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warroom.config import ConfigError, ConfigFile, read_config

FORMATS = ("json", "slack", "alertmanager")
EVENT_TYPES = (
    "alert.raised",
    "alert.cleared",
    "finding.raised",
    "incident.opened",
    "incident.status",
    "incident.severity",
    "note",
    "incident.resolved",
    "test",
)
SEVERITIES = ("critical", "warning", "info")
NOTE_KINDS = ("decision", "escalation", "action")

_KEYS = frozenset({
    "name", "url", "url_env", "headers_env", "command", "format", "events", "severities",
    "note_kinds", "timeout_s", "min_interval_s", "retry_base_s", "retry_max_s", "max_batch",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Destination:
    name: str
    format: str = "json"
    url: str | None = None  # written in the config file itself (the user's choice)
    url_env: str | None = None  # the variable's name, never its value
    headers_env: tuple[tuple[str, str], ...] = ()  # (header, variable name)
    command: tuple[str, ...] = ()
    events: frozenset[str] = frozenset(EVENT_TYPES)
    severities: frozenset[str] = frozenset(SEVERITIES)
    note_kinds: frozenset[str] = frozenset(NOTE_KINDS)
    timeout_s: float = 10.0
    min_interval_s: float = 1.0  # the rate limit: events within it fold into one message
    retry_base_s: float = 1.0
    retry_max_s: float = 300.0
    max_batch: int = 100  # events in one message at most (a burst past it takes several)

    def wants(self, event: Mapping[str, Any]) -> bool:
        kind = str(event.get("type", ""))
        if kind == "test":
            return True
        if kind not in self.events:
            return False
        if kind.startswith(("alert.", "finding.")):
            return str(event.get("severity")) in self.severities
        if kind == "note":
            return str(event.get("kind")) in self.note_kinds
        return True

    def resolve(self) -> tuple[str, dict[str, str], list[str]]:
        """(url, headers, secrets) from the environment, at send time; ValueError naming the
        variable (never its value) when one is unset."""
        secrets: list[str] = []
        url = self.url or ""
        if self.url_env:
            url = os.environ.get(self.url_env, "")
            if not url:
                raise ValueError(f"${self.url_env} is not set")
            secrets.append(url)
        elif url:
            secrets.append(url)  # a URL in the file may carry a token too: never echoed
        headers: dict[str, str] = {}
        for header, var in self.headers_env:
            value = os.environ.get(var)
            if value is None:
                raise ValueError(f"${var} (header {header}) is not set")
            headers[header] = value
            secrets.append(value)
        return url, headers, [s for s in secrets if s]


def parse(config: ConfigFile) -> tuple[Destination, ...]:
    raw = config.data.get("notify", [])
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{config.where}: notify: expected [[notify]] tables")
    found: list[Destination] = []
    for number, entry in enumerate(raw, 1):
        label = f"[[notify]] #{number}"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            label += f" ({entry['name']!r})"
        try:
            found.append(_one(entry, {d.name for d in found}))
        except ValueError as exc:
            raise ConfigError(f"{config.where}: {label}: {exc}") from None
    return tuple(found)


def load(config: ConfigFile | None = None) -> tuple[Destination, ...]:
    """The destinations of the config file (read now unless given); ConfigError when bad."""
    return parse(config if config is not None else read_config())


def _one(entry: object, taken: set[str]) -> Destination:
    if not isinstance(entry, dict):
        raise ValueError("expected a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ValueError("needs a name (a string of at most 64 characters)")
    if name in taken:
        raise ValueError(f"the name {name!r} is used twice")
    targets = [key for key in ("url", "url_env", "command") if key in entry]
    if len(targets) != 1:
        raise ValueError("needs exactly one of url, url_env or command")
    fmt = _choice(entry, "format", FORMATS, "json")
    url = _text(entry, "url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValueError("url must start with http:// or https://")
    command: tuple[str, ...] = ()
    if "command" in entry:
        value = entry["command"]
        if isinstance(value, str):
            command = tuple(shlex.split(value))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            command = tuple(value)
        if not command:
            raise ValueError("command must be a non-empty string or list of strings")
    headers = entry.get("headers_env", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError('headers_env must be a table of header = "VARIABLE"')
    return Destination(
        name=name, format=fmt, url=url, url_env=_text(entry, "url_env"),
        headers_env=tuple(sorted(headers.items())), command=command,
        events=_set(entry, "events", EVENT_TYPES), severities=_set(entry, "severities", SEVERITIES),
        note_kinds=_set(entry, "note_kinds", NOTE_KINDS),
        timeout_s=_number(entry, "timeout_s", 10.0, 0.1),
        min_interval_s=_number(entry, "min_interval_s", 1.0, 0.0),
        retry_base_s=_number(entry, "retry_base_s", 1.0, 0.01),
        retry_max_s=_number(entry, "retry_max_s", 300.0, 0.01),
        max_batch=int(_number(entry, "max_batch", 100, 1)),
    )  # fmt: skip


def _text(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _choice(entry: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = entry.get(key, default)
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _set(entry: dict[str, Any], key: str, allowed: tuple[str, ...]) -> frozenset[str]:
    value = entry.get(key)
    if value is None:
        return frozenset(allowed)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    bad = [v for v in value if v not in allowed]
    if bad:
        raise ValueError(f"{key}: unknown {bad[0]!r} (known: {', '.join(allowed)})")
    return frozenset(value)


def _number(entry: dict[str, Any], key: str, default: float, least: float) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
        raise ValueError(f"{key} must be a number of at least {least:g}")
    return float(value)
