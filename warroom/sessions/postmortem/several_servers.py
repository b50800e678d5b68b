"""## Metrics for several servers (issue 12): the table, then each server's figures and charts."""

from __future__ import annotations

from datetime import datetime, timedelta

from warroom.formats import format_bytes, format_duration, format_seconds, format_utc, lag_text
from warroom.sessions import servers
from warroom.sessions.model import SampleRollup
from warroom.sessions.postmortem.charts import _buckets, _caption, _server_charts
from warroom.sessions.postmortem.figures import (
    _peak_against_usable,
    _runs,
    _stretches,
    _window_figures,
    down_windows,
)
from warroom.sessions.postmortem.markdown import _cell, _heading_text, one_line
from warroom.sessions.postmortem.stamps import _span


def _role_line(rollups: list[SampleRollup]) -> str:
    roles = servers.roles_seen(rollups)
    if not roles:
        return "- **Role:** not recorded"
    text = servers.roles_text(roles)
    if len(roles) > 1:
        since = "; ".join(f"{role} from {format_utc(at)}" for role, at in roles[1:])
        text += f" ({since})"
    return f"- **Role:** {text}"


def _lag_line(what: str, rollups: list[SampleRollup]) -> list[str]:
    in_bytes, in_seconds = servers.worst_lag(rollups)
    if in_bytes is None and in_seconds is None:
        return []
    if (in_bytes is not None and in_bytes is in_seconds and in_bytes.lag_bytes is not None
            and in_bytes.lag_s is not None):
        # Both worst in the same window: one time for both figures.
        text = (f"{format_bytes(in_bytes.lag_bytes)} and "
                f"{format_seconds(in_bytes.lag_s)} behind at {format_utc(in_bytes.at)}")
    else:
        parts = []
        if in_bytes is not None and in_bytes.lag_bytes is not None:
            parts.append(f"{format_bytes(in_bytes.lag_bytes)} behind at "
                         f"{format_utc(in_bytes.at)}")
        if in_seconds is not None and in_seconds.lag_s is not None:
            parts.append(f"{format_seconds(in_seconds.lag_s)} behind at "
                         f"{format_utc(in_seconds.at)}")
        text = "; ".join(parts)
    return [f"- **{what}:** {text}"]


def _replication_lines(rollups: list[SampleRollup]) -> list[str]:
    as_replica = [r for r in rollups if r.role == "replica"]
    # On a primary the rollup's lag is its worst standby's, so it is named as such.
    lines = _lag_line("Worst replication lag", as_replica)
    lines += _lag_line("Worst standby lag", [r for r in rollups if r.role == "primary"])
    if as_replica:
        paused = _runs(rollups, lambda r: r.repl_state == "paused")
        if paused:
            lines += _stretches("Replay paused", paused, "stretch")
        elif any(r.repl_state for r in as_replica):
            lines.append("- **Replay paused:** no window recorded replay paused")
        cut = _runs(rollups, lambda r: r.repl_state == "disconnected")
        if cut:
            lines += _stretches("WAL receiver disconnected", cut, "stretch")
    return lines


def _worst_lag_cell(rollups: list[SampleRollup]) -> str:
    own = [r for r in rollups if r.role == "replica"]
    chosen = own or [r for r in rollups if r.role == "primary"]
    in_bytes, in_seconds = servers.worst_lag(chosen)
    text = lag_text(in_bytes.lag_bytes if in_bytes else None,
                            in_seconds.lag_s if in_seconds else None)
    if not text:
        return "—"
    return text if own else f"{text} (worst standby)"


def _servers_table(split: dict[str | None, list[SampleRollup]]) -> list[str]:
    lines = ["| Server | Role | Down | Worst replication lag |", "| --- | --- | --- | --- |"]
    for name, rollups in split.items():
        windows = down_windows(rollups)
        down = sum((end - start for start, end in windows), timedelta())
        shown = format_duration(down) if windows else "never"
        lines.append(f"| {_cell(servers.label(name))} | "
                     f"{servers.roles_text(servers.roles_seen(rollups))} | {shown} | "
                     f"{_worst_lag_cell(rollups)} |")
    return lines


def _servers_metrics(
    split: dict[str | None, list[SampleRollup]], marks: dict[str, datetime] | None = None
) -> list[str]:
    everything = sorted((r for rollups in split.values() for r in rollups), key=lambda s: s.at)
    last = max(everything, key=lambda s: s.end)
    lines = [f"From {len(everything):,} sample windows of {len(split)} servers recorded by "
             f"warroom, {_span(everything[0].at, last.end)}.", ""]
    lines += _servers_table(split)
    lines += _caption(marks or {})
    starts = _buckets(everything)
    for name, rollups in split.items():
        shown = servers.label(name)
        lines += ["", f"### {_heading_text(one_line(shown)) or '(no name)'}", "",
                  _role_line(rollups)]
        lines += _window_figures(rollups, _peak_against_usable, p95=True)
        lines += _replication_lines(rollups)
        lines += _server_charts(shown, rollups, starts, last.end, marks)
    return lines
