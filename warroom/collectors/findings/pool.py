"""One application holds the pool: most of the usable slots, on a server that is nearly full."""

from __future__ import annotations

from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.sanitize import one_line


class PoolHolder:
    name = "pool"

    def evaluate(self, ctx: Context) -> list[Finding]:
        conns = ctx.sample.connections
        if conns is None or not conns.by_application:
            return []
        s = ctx.settings
        if conns.saturation * 100.0 < s["saturation"]:
            return []
        top = conns.by_application[0]
        if top.count * 100.0 < s["share"] * conns.usable:
            return []
        app = one_line(top.name or "(no application_name)", 64)
        idle_tx = next((a for a in ctx.sample.idle_tx_apps if a.name == top.name), None)
        text = f"{app} holds {top.count} of {conns.usable} usable slots"
        evidence: dict[str, object] = {
            "application": top.name, "count": top.count, "usable": conns.usable,
            "total": conns.total, "max_connections": conns.max,
        }  # fmt: skip
        if idle_tx is not None and idle_tx.count:
            text += (
                f"; {idle_tx.count} idle in transaction, the oldest for {idle_tx.oldest_s:.0f} s"
            )
            evidence["idle_in_transaction"] = idle_tx.count
            evidence["oldest_idle_in_transaction_s"] = round(idle_tx.oldest_s, 1)
        share = top.count / conns.usable
        return [Finding(self.name, app, Severity.CRITICAL, text, evidence, share)]
