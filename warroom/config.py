"""The config file: found, read and checked as TOML in one place; each section parsed by its owner.

``$WARROOM_CONFIG``, else ``$XDG_CONFIG_HOME/warroom/config.toml`` (``~/.config/...``). The
sections are ``[alerts.*]`` and ``[findings.*]`` (collectors/alerts.py, findings/config.py),
``[[targets]]`` (targets.py) and ``[share]`` (sessions/share/client.py). This module knows no
section, so a command that needs one (``note`` reads ``[share]``) imports nothing of the others.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.errors import UserError


class ConfigError(ValueError, UserError):
    """A config file that is missing when named, unreadable or not valid; one line."""


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """The parsed document (empty when there is no file) and where it came from."""

    where: Path
    data: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, Any]:
        """A top-level table, ``{}`` when absent; ConfigError when it is not a table."""
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where}: {name}: expected a table ([{name}])")
        return value


def config_path() -> Path:
    """``$WARROOM_CONFIG``, else ``$XDG_CONFIG_HOME/warroom/config.toml`` (``~/.config/...``)."""
    explicit = os.environ.get("WARROOM_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "warroom" / "config.toml"


def read_config(path: Path | str | None = None) -> ConfigFile:
    """The config file as TOML.

    A missing file is fine only when nobody named it: an explicit ``path`` or ``$WARROOM_CONFIG``
    that does not exist is an error, because the user expects their settings to apply.
    """
    named = path is not None or bool(os.environ.get("WARROOM_CONFIG"))
    where = Path(path).expanduser() if path is not None else config_path()
    try:
        with where.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if named:
            raise ConfigError(f"{where}: no such config file") from None
        return ConfigFile(where)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {' '.join(str(exc).split())}") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
    return ConfigFile(where, data)
