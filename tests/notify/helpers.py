"""Destinations and notifiers on a test's own outbox, with retry delays short enough for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warroom.config import ConfigFile
from warroom.notify import config
from warroom.notify.config import Destination
from warroom.notify.outbox import Outbox
from warroom.notify.worker import Notifier

MADE: list[Notifier] = []  # closed after each test (conftest)
QUICK = {"retry_base_s": 0.05, "retry_max_s": 0.2, "min_interval_s": 0.0, "timeout_s": 1.0}


def destinations(tmp: Path, *entries: dict[str, Any]) -> tuple[Destination, ...]:
    return config.parse(ConfigFile(tmp / "config.toml", {"notify": [dict(e) for e in entries]}))


def notifier(tmp: Path, *entries: dict[str, Any]) -> Notifier:
    path = tmp / "state" / "warroom" / "notify-outbox.sqlite3"
    made = Notifier(destinations(tmp, *entries), outbox=lambda: Outbox(path))
    MADE.append(made)
    return made


def toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    return repr(value)


def write_config(path: Path, *entries: dict[str, Any]) -> None:
    blocks = []
    for entry in entries:
        lines = ["[[notify]]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()]
        blocks.append("\n".join(lines))
    path.write_text("\n\n".join(blocks) + "\n")
