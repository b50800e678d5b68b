"""Evidence against "it is the network": the held connection answers fast while connecting fails.

The refusal is the server's (SQLSTATE 53300, too many connections), and the round trip on the
connection we already hold is short: packets get through, the server has no slot.
"""

from __future__ import annotations

from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.collectors.sample import FailureKind


class NetworkFine:
    name = "network_fine"

    def evaluate(self, ctx: Context) -> list[Finding]:
        sample = ctx.sample
        refusal = sample.probe_error
        if (
            refusal is None
            or refusal.kind is not FailureKind.TOO_MANY_CONNECTIONS
            or sample.query_ms is None
        ):
            return []
        if sample.query_ms > ctx.settings["max_ms"]:
            return []
        code = f" ({refusal.sqlstate})" if refusal.sqlstate else ""
        text = (
            f"round trip on the held connection {sample.query_ms:.1f} ms while new connections "
            f"are refused{code}: the network is fine, the server is full"
        )
        evidence = {
            "round_trip_ms": round(sample.query_ms, 3), "refusal": refusal.kind.value,
            "sqlstate": refusal.sqlstate,
        }  # fmt: skip
        return [Finding(self.name, "network", Severity.INFO, text, evidence)]
