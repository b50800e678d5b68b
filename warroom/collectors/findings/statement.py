"""A dominant statement: one statement is most of the database's time in the last minute.

A healthy load has a hot statement by design (pgbench's account update), so share alone is not
enough: the statement must also be slow per call and add up to real time.
"""

from __future__ import annotations

from warroom.collectors.findings.model import Context, Finding, Severity


class DominantStatement:
    name = "statement"

    def evaluate(self, ctx: Context) -> list[Finding]:
        if not ctx.sample.statements:
            return []
        top = ctx.sample.statements[0]
        s = ctx.settings
        if (
            top.share * 100.0 < s["share"]
            or top.mean_ms < s["min_mean_ms"]
            or top.total_ms < s["min_total_s"] * 1000.0
        ):
            return []
        window = max(top.window_s, 1.0)
        text = (
            f"one statement is {top.share * 100:.0f} % of database time in the last "
            f"{window:.0f} s ({top.calls} calls, {top.mean_ms:.0f} ms each): {top.text}"
        )
        evidence = {
            "queryid": top.queryid, "share": round(top.share, 4), "calls": top.calls,
            "total_ms": round(top.total_ms, 1), "mean_ms": round(top.mean_ms, 1),
            "window_s": round(top.window_s, 1), "query": top.text,
        }  # fmt: skip
        return [
            Finding(self.name, f"queryid {top.queryid}", Severity.WARNING, text, evidence,
                    top.share)
        ]  # fmt: skip
