"""Connection churn: sessions that connect and leave, far above the server's rate before.

A pool that reconnects in a loop, or a client connecting per request, shows here before it
saturates the server (and forks a backend for every connection it makes). Churn is sessions that
came and went (``Churn.came_and_went``): a pool warming up or a deploy connects sessions that
stay, and is none. The server counts sessions from 14 on; before that there is no churn figure
and no finding.

The baseline is the median rate before the storm, kept in the finding while it is held: a storm
that lasts is never learnt as the server's usual rate, so it stays raised as long as it lasts.
The churner is named as the pool rule names a service (``Group.name``): its application, else
``user X`` with its client addresses.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.collectors.findings.pool import _clients
from warroom.collectors.sample import Group, PgSample
from warroom.sanitize import one_line

SUBJECT = "server"  # one churn finding per server, whoever churns: a new name is no new storm


@dataclass(frozen=True, slots=True)
class _Measure:
    rate: float  # sessions that came and went per second, over the rule's samples
    new_rate: float  # new sessions per second, the same samples
    baseline: float
    abandoned: int
    fatal: int
    killed: int
    samples: int
    churner: Group | None


def _churner(recent: list[PgSample]) -> Group | None:
    """The group caught among new sessions in the most of these samples, then the most often.

    A pool's new sessions show in the one sample it warmed up in; a churner's in every one.
    """
    seen: dict[tuple[str, str], tuple[int, int, Group]] = {}
    for x in recent:
        for g in x.churn.new_by_group if x.churn is not None else ():
            windows, count, _ = seen.get((g.application, g.user), (0, 0, g))
            seen[(g.application, g.user)] = (windows + 1, count + g.count, g)
    if not seen:
        return None
    return max(seen.values(), key=lambda v: (v[0], v[1]))[2]


class Churn:
    name = "churn"

    def _measure(self, ctx: Context, floor: float = 0.0) -> _Measure | None:
        """The rule's samples measured; None when they cannot say, or their rate is under
        ``floor`` (then the baseline, a median over five minutes of history, is not taken:
        most seconds there is no storm, and it made the rule's cost grow with the history)."""
        n = max(int(ctx.settings["samples"]), 1)
        recent = [*ctx.history[max(len(ctx.history) - n + 1, 0) :], ctx.sample]
        rates = [x.churn.came_and_went_per_s for x in recent if x.churn is not None]
        if len(rates) < n or any(r is None for r in rates):
            return None
        rate = statistics.fmean(r for r in rates if r is not None)
        if rate < floor:
            return None
        held = ctx.tracked.get(SUBJECT)
        if held is not None and "baseline_per_s" in held.evidence:
            baseline = float(held.evidence["baseline_per_s"])  # from before the storm
        else:
            earlier = [
                x.churn.came_and_went_per_s
                for x in ctx.history[:-n]
                if x.churn is not None and x.churn.came_and_went_per_s is not None
            ]
            baseline = statistics.median(earlier) if earlier else 0.0
        churns = [x.churn for x in recent if x.churn is not None]
        return _Measure(
            rate=rate,
            new_rate=statistics.fmean(c.new_per_s or 0.0 for c in churns),
            baseline=baseline,
            abandoned=sum(c.abandoned or 0 for c in churns),
            fatal=sum(c.fatal or 0 for c in churns),
            killed=sum(c.killed or 0 for c in churns),
            samples=len(recent),
            churner=_churner(recent),
        )

    def evaluate(self, ctx: Context) -> list[Finding]:
        s = ctx.settings
        m = self._measure(ctx, floor=s["min_per_s"])
        if m is None or m.rate < s["factor"] * m.baseline:
            return []
        text = f"{m.rate:.0f} sessions/s came and went{self._who(m.churner)}"
        if m.abandoned:
            text += f", {m.abandoned} abandoned"
        text += f" (before: {m.baseline:.0f}/s): connect-per-request, or a pool that keeps "
        text += "reconnecting"
        return [self._finding(m, text)]

    def describe(self, ctx: Context, finding: Finding) -> Finding | None:
        """The rate now, for a churn finding this sample no longer supports."""
        m = self._measure(ctx)
        if m is None:
            return None
        text = f"now {m.rate:.0f} sessions/s come and go (before the storm: {m.baseline:.0f}/s)"
        if m.abandoned:
            text += f", {m.abandoned} abandoned"
        return self._finding(m, text)

    @staticmethod
    def _who(group: Group | None) -> str:
        if group is None:
            return ""
        who = f" from {one_line(group.name, 64)}"
        if not group.application and group.clients:
            who += f" (from {_clients(group.clients, group.client_count)})"
        return who

    def _finding(self, m: _Measure, text: str) -> Finding:
        g = m.churner
        evidence = {
            "came_and_went_per_s": round(m.rate, 2), "new_per_s": round(m.new_rate, 2),
            "baseline_per_s": round(m.baseline, 2),
            "abandoned": m.abandoned, "fatal": m.fatal, "killed": m.killed,
            "samples": m.samples,
            "churner": None if g is None else g.to_json(),
        }  # fmt: skip
        return Finding(self.name, SUBJECT, Severity.WARNING, text, evidence, m.rate)
