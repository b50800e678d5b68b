"""Restarts, reloads and promotions, told apart from what the server reports each sample.

``pg_postmaster_start_time()`` moves on a restart, ``pg_conf_load_time()`` on a reload (and a
restart), ``pg_is_in_recovery()`` flips on a promotion. The settings that changed come from two
``pg_settings`` snapshots, read only when one of those times moved. The watch outlives any one
monitoring connection: a restart drops it, and the comparison must span the gap. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from warroom.collectors.sample import ServerChange, SettingChange
from warroom.sanitize import one_line

Settings = Mapping[str, tuple[str | None, bool]]  # name -> (setting, pending_restart)

MAX_LISTED = 12


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _hms(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


def diff_settings(old: Settings, new: Settings) -> tuple[SettingChange, ...]:
    changes: list[SettingChange] = []
    for name in sorted(new):
        value, pending = new[name]
        before, was_pending = old.get(name, (None, False))
        if name not in old:
            changes.append(SettingChange(name, None, value))
        elif value != before:
            changes.append(SettingChange(name, before, value))
        elif pending and not was_pending:
            changes.append(SettingChange(name, before, None, pending_restart=True))
    return tuple(changes)


def _listing(changes: tuple[SettingChange, ...]) -> str:
    shown = [one_line(c.describe(), 120) for c in changes[:MAX_LISTED]]
    more = len(changes) - MAX_LISTED
    return "; ".join(shown) + (f"; +{more} more" if more > 0 else "")


class ServerWatch:
    def __init__(self) -> None:
        self.started: float | None = None
        self.conf_loaded: float | None = None
        self.in_recovery: bool | None = None
        self.settings: Settings | None = None
        self.last_up_at: datetime | None = None

    def wants_settings(self, started: float | None, conf_loaded: float | None) -> bool:
        """True when the settings must be read: the first time, or after a restart/reload."""
        if started is None or conf_loaded is None:
            return False
        return (
            self.settings is None or started != self.started or conf_loaded != self.conf_loaded
        )

    def update(
        self,
        at: datetime,
        started: float | None,
        conf_loaded: float | None,
        in_recovery: bool | None,
        settings: Settings | None,
    ) -> tuple[ServerChange, ...]:
        changes: list[ServerChange] = []
        diff: tuple[SettingChange, ...] = ()
        if settings is not None:
            if self.settings is not None:
                diff = diff_settings(self.settings, settings)
            self.settings = dict(settings)
        restarted = started is not None and self.started is not None and started != self.started
        if restarted:
            assert started is not None
            start_at = _utc(started)
            text = f"server restarted at {_hms(start_at)} UTC"
            downtime = None
            if self.last_up_at is not None:
                downtime = max((start_at - self.last_up_at).total_seconds(), 0.0)
                text += (
                    f"; down for at most {downtime:.1f} s (last answer "
                    f"{_hms(self.last_up_at)}, up again {_hms(start_at)})"
                )
            if diff:
                text += f"; settings changed: {_listing(diff)}"
            changes.append(ServerChange("restart", start_at, text, diff, downtime))
        elif (
            conf_loaded is not None
            and self.conf_loaded is not None
            and conf_loaded != self.conf_loaded
        ):
            load_at = _utc(conf_loaded)
            what = _listing(diff) if diff else "no setting warroom can see changed"
            changes.append(
                ServerChange("reload", load_at, f"configuration reloaded at "
                             f"{_hms(load_at)} UTC: {what}", diff)
            )  # fmt: skip
        if in_recovery is not None and self.in_recovery is not None:
            if self.in_recovery and not in_recovery:
                changes.append(ServerChange(
                    "promotion", at, "promoted: the server left recovery and now accepts "
                    "writes (it was a replica)",
                ))  # fmt: skip
            elif not self.in_recovery and in_recovery:
                changes.append(ServerChange(
                    "recovery", at, "now in recovery: the server behind this DSN is a replica "
                    "(it was a primary)",
                ))  # fmt: skip
        if started is not None:
            self.started = started
        if conf_loaded is not None:
            self.conf_loaded = conf_loaded
        if in_recovery is not None:
            self.in_recovery = in_recovery
        self.last_up_at = at
        return tuple(changes)
