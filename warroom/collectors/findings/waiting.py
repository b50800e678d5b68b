"""Evidence against "the server is overloaded": the host CPU is idle while sessions are slow.

Only meaningful with a host sample of the database host (warroom running there); without one
the rule says nothing.
"""

from __future__ import annotations

from warroom.collectors.findings.model import Context, Finding, Severity

# Waits that mean "blocked on something", not "idle, waiting for the client to speak".
_BLOCKING = frozenset({"Lock", "LWLock", "BufferPin", "IO", "IPC", "Timeout"})


class WaitingNotWorking:
    name = "waiting"

    def evaluate(self, ctx: Context) -> list[Finding]:
        host = ctx.host
        if host is None or host.cpu_percent is None:
            return []
        s = ctx.settings
        if host.cpu_percent > s["cpu_idle"]:
            return []
        waiting = sum(w.count for w in ctx.sample.waits if w.type in _BLOCKING)
        if waiting < s["min_waiting"]:
            return []  # before the p95: most seconds nobody waits, and it walks 30 samples
        p95 = ctx.query_p95()
        longest = ctx.sample.longest_query
        slow = (p95 is not None and p95 >= s["latency_ms"]) or (
            longest is not None and longest.age_s >= s["min_query_s"]
        )
        if not slow:
            return []
        top = next((w for w in ctx.sample.waits if w.type in _BLOCKING), None)
        on = f" (most on {top.type}/{top.event}: {top.count})" if top else ""
        text = (
            f"host CPU idle ({host.cpu_percent:.0f} % busy) while queries are slow: {waiting} "
            f"sessions are waiting{on}, not working"
        )
        evidence = {
            "cpu_percent": round(host.cpu_percent, 1), "waiting": waiting,
            "query_p95_ms": None if p95 is None else round(p95, 1),
            "longest_query_s": None if longest is None else round(longest.age_s, 1),
            "waits": [{"type": w.type, "event": w.event, "count": w.count}
                      for w in ctx.sample.waits],
        }  # fmt: skip
        return [Finding(self.name, "host", Severity.INFO, text, evidence)]
