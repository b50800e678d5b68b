"""A retry storm: the server turns connections away (53300, its own log) faster than a threshold.

Only the server's log knows: a refused client never gets a backend, so no view of the server
counts it, and warroom's own probe tries once every few seconds. The log line of a refusal
carries no application name (the server refuses before it reads the startup options), so the
refused are named by user, database and client address; the sample's own grouping then says
who holds the slots they wanted, by application when the holders set one.

The rate is the latest log window's (current numbers, never a stale peak); the total is over
the storm so far: the windows in a row at or above ``min_per_s``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.sanitize import one_line

if TYPE_CHECKING:
    from warroom.collectors.serverlog.counts import Group, LogCounts

SHOWN_GROUPS = 3  # refused groups in the text; the evidence keeps every one the log gave
SHOWN_HOLDERS = 2
MAX_WINDOWS = 3600  # windows of one storm kept for its total (an hour at one per second)


def who(group: Group) -> str:
    """``user checkout on shop from 10.0.0.5``: whatever the log line carried."""
    parts = [f"user {one_line(group.user, 64)}" if group.user else "an unnamed user"]
    if group.application:
        parts.append(f"({one_line(group.application, 64)})")
    if group.database:
        parts.append(f"on {one_line(group.database, 64)}")
    if group.client:
        parts.append(f"from {one_line(group.client, 64)}")
    return " ".join(parts)


class RetryStorm:
    name = "retry_storm"
    # It reads the server's log, not its views: a server too full to let warroom in is exactly
    # when its refusals matter.
    process_titles = True

    def __init__(self) -> None:
        self._storm: deque[LogCounts] = deque(maxlen=MAX_WINDOWS)
        self._ended = (0, 0.0)  # the last storm's refusals and seconds, once it stopped

    def evaluate(self, ctx: Context) -> list[Finding]:
        counts = ctx.server_log
        s = ctx.settings
        if counts is None or counts.source is None or counts.seconds <= 0:
            return []
        rate = counts.per_second("refused")
        if rate < max(s["min_per_s"], 1e-9):
            if self._storm:
                self._ended = self._totals()
                self._storm.clear()
            return []
        # A window is seen by every sample until the next read: counted once.
        if not self._storm or self._storm[-1] is not counts:
            self._storm.append(counts)
        return [self._finding(ctx, counts, rate)]

    def _finding(self, ctx: Context, counts: LogCounts, rate: float) -> Finding:
        groups = counts.top.get("refused", ())
        total, span = self._totals()
        refused = counts.totals.get("refused", 0)
        text = f"the server refused {rate:,.0f} connections/s"
        if groups and groups[0].count == refused:
            text += f" for {who(groups[0])} ({total:,} in {span:,.0f} s)"
        else:
            text += f" ({total:,} in {span:,.0f} s)"
            if groups:
                text += "; " + ", ".join(f"{who(g)} {g.count:,}" for g in groups[:SHOWN_GROUPS])
                if len(groups) > SHOWN_GROUPS:
                    text += f" and {len(groups) - SHOWN_GROUPS} more"
        evidence: dict[str, object] = {
            "refused_per_s": round(rate, 2), "refused_in_window": refused,
            "window_s": round(counts.seconds, 3), "refused_in_storm": total,
            "storm_s": round(span, 1), "refused": [g.to_json() for g in groups],
            "log_source": counts.source,
        }  # fmt: skip
        held = self._holders(ctx)
        if held:
            text += f"; slots are held by {held}"
        conns = ctx.sample.connections
        if conns is not None and conns.by_group:
            evidence["holders"] = [g.to_json() for g in conns.by_group[:SHOWN_HOLDERS]]
        critical = rate >= ctx.settings["critical_per_s"]
        return Finding(self.name, "refused connections",
                       Severity.CRITICAL if critical else Severity.WARNING, text, evidence,
                       rate, ctx.sample.connections_source or "server")  # fmt: skip

    def describe(self, ctx: Context, finding: Finding) -> Finding | None:
        """The subject now, for a sample below the threshold: today's rate, the storm's total."""
        counts = ctx.server_log
        if counts is None or counts.source is None or counts.seconds <= 0:
            return None
        rate = counts.per_second("refused")
        total, span = self._totals() if self._storm else self._ended
        text = f"the server refused {rate:,.0f} connections/s"
        if total:
            text += f"; {total:,} in {span:,.0f} s during the storm"
        evidence = {**finding.evidence, "refused_per_s": round(rate, 2),
                    "refused_in_window": counts.totals.get("refused", 0),
                    "window_s": round(counts.seconds, 3)}  # fmt: skip
        return Finding(self.name, finding.subject, finding.severity, text, evidence, rate,
                       finding.source)  # fmt: skip

    def _totals(self) -> tuple[int, float]:
        return (sum(c.totals.get("refused", 0) for c in self._storm),
                sum(c.seconds for c in self._storm))  # fmt: skip

    @staticmethod
    def _holders(ctx: Context) -> str:
        conns = ctx.sample.connections
        if conns is None or not conns.by_group:
            return ""
        top, *rest = conns.by_group[:SHOWN_HOLDERS]
        of = f" of {conns.usable} usable" if conns.usable is not None else ""
        shown = [f"{one_line(top.name, 64)} ({top.count}{of})"]
        shown += [f"{one_line(g.name, 64)} ({g.count})" for g in rest]
        return ", ".join(shown)
