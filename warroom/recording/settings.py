"""``[record]`` in the config file: the recorder's defaults, overridden by its options.

    [record]
    store = "/var/lib/warroom/recorder.sqlite"   # default $XDG_STATE_HOME/warroom/recorder.sqlite
                                                 # or an ops PostgreSQL DSN (store_api.py)
    interval = 1                                 # seconds
    retention_age = "48h"
    retention_size = "1GiB"
    targets = ["primary", "replica-1"]           # [[targets]] names; default every one
    lead_up = "30m"                              # a new incident takes this much before it
    open_incident_on = "critical"                # open an incident at the first such alert or
                                                 # finding (default: never; or "warning")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warroom.config import ConfigError, ConfigFile
from warroom.dsn import DsnError
from warroom.recording.retention import DEFAULT_AGE_S, DEFAULT_BYTES, parse_age, parse_size

_KNOWN = ("store", "interval", "retention_age", "retention_size", "targets", "lead_up",
          "open_incident_on")
OPEN_LEVELS = ("critical", "warning")  # warning: a warning or a critical one opens it


def default_store() -> Path:
    """``$XDG_STATE_HOME/warroom/recorder.sqlite`` (``~/.local/state/...``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "warroom" / "recorder.sqlite"


@dataclass(frozen=True, slots=True)
class RecordSettings:
    store: Path | str | None = None  # a str is a DSN (store_api.StoreSpec)
    interval: float = 1.0
    retention_age_s: float = DEFAULT_AGE_S
    retention_bytes: int = DEFAULT_BYTES
    targets: tuple[str, ...] = ()
    lead_up_s: float = 1800.0
    open_incident_on: str | None = None  # one of OPEN_LEVELS; None: the recorder opens none

    def store_spec(self, given: Path | str | None = None) -> Path | str:
        """The store to use: ``given`` (``--store``), else ``[record] store``, else the
        default file."""
        return given or self.store or default_store()


def parse_record(found: ConfigFile) -> RecordSettings:
    table = found.table("record")
    where = f"{found.where}: record"
    unknown = sorted(set(table) - set(_KNOWN))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_KNOWN)})")
    out = RecordSettings()
    store = table.get("store")
    if store is not None and (not isinstance(store, str) or not store):
        raise ConfigError(f"{where}.store: expected a path or a PostgreSQL DSN")
    from warroom.recording.store_api import parse_spec

    try:
        spec = None if store is None else parse_spec(store)
    except DsnError as exc:
        raise ConfigError(f"{where}.store: {exc}") from None
    interval = table.get("interval", out.interval)
    if type(interval) not in (int, float) or not 0 < interval < float("inf"):
        raise ConfigError(f"{where}.interval: expected seconds above 0")
    try:
        age = parse_age(str(table.get("retention_age", out.retention_age_s)))
        size = parse_size(str(table.get("retention_size", out.retention_bytes)))
        lead = parse_age(str(table.get("lead_up", out.lead_up_s)))
    except ValueError as exc:
        raise ConfigError(f"{where}: retention: {exc}") from None
    targets = table.get("targets", [])
    if not isinstance(targets, list) or any(not isinstance(t, str) for t in targets):
        raise ConfigError(f"{where}.targets: expected a list of [[targets]] names")
    opens = table.get("open_incident_on")
    if opens is not None and opens not in OPEN_LEVELS:
        raise ConfigError(f"{where}.open_incident_on: expected one of {', '.join(OPEN_LEVELS)}")
    return RecordSettings(spec, float(interval), age, size, tuple(targets), lead,
                          opens)  # fmt: skip
