"""Connection churn: new sessions per second far above the server's own recent rate.

A pool that reconnects in a loop, or a client connecting per request, shows here before it
saturates the server (and forks a backend for every connection it makes).
"""

from __future__ import annotations

import statistics

from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.sanitize import one_line


class Churn:
    name = "churn"

    def evaluate(self, ctx: Context) -> list[Finding]:
        s = ctx.settings
        n = max(int(s["samples"]), 1)
        recent = [x for x in (*ctx.history, ctx.sample)][-n:]
        rates = [x.churn.new_per_s for x in recent if x.churn is not None]
        if len(rates) < n or any(r is None for r in rates):
            return []
        rate = statistics.fmean(r for r in rates if r is not None)
        earlier = [
            x.churn.new_per_s
            for x in ctx.history[:-n]
            if x.churn is not None and x.churn.new_per_s is not None
        ]
        baseline = statistics.median(earlier) if earlier else 0.0
        if rate < s["min_per_s"] or rate < s["factor"] * baseline:
            return []
        lost = [
            sum(getattr(x.churn, k) or 0 for x in recent if x.churn is not None)
            for k in ("abandoned", "fatal", "killed")
        ]
        churn = ctx.sample.churn
        assert churn is not None
        who = ""
        if churn.new_by_application:
            top = churn.new_by_application[0]
            who = f" from {one_line(top.name or '(no application_name)', 64)}"
        text = f"{rate:.0f} new sessions/s{who}"
        if lost[0]:
            text += f", {lost[0]} abandoned"
        text += ": connect-per-request, or a pool that keeps reconnecting"
        evidence = {
            "new_per_s": round(rate, 2), "baseline_per_s": round(baseline, 2),
            "abandoned": lost[0], "fatal": lost[1], "killed": lost[2],
            "samples": len(recent), "source": churn.source,
            "new_by_application": [
                {"name": c.name, "count": c.count} for c in churn.new_by_application
            ],
        }  # fmt: skip
        return [Finding(self.name, "server", Severity.WARNING, text, evidence, rate)]
