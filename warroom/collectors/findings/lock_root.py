"""A lock chain's root: the one backend a queue of sessions waits behind, and what it is doing.

Brief lock waits are normal under a busy write load; the rule needs several sessions behind the
same root, and the longest of them waiting for a while. The evidence names the lock the root
holds (pg_locks: a relation, or the transaction a row's waiters queue on, with the row's table)
and shows the root's *last* statement as such: an idle-in-transaction root took the lock with
an earlier one.
"""

from __future__ import annotations

from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.collectors.sample import HeldLock
from warroom.formats import age
from warroom.sanitize import one_line


def describe(lock: HeldLock) -> str:
    """``RowExclusiveLock on relation orders``, ``ExclusiveLock on transactionid 1234 (rows of
    orders)``, ``ExclusiveLock on tuple (0,1) of orders``."""
    mode, kind = one_line(lock.mode, 40), one_line(lock.locktype, 40)
    relation, target = one_line(lock.relation, 64), one_line(lock.target, 64)
    if kind == "relation":
        return f"{mode} on relation {relation}"
    text = f"{mode} on {kind}" + (f" {target}" if target else "")
    if relation:
        text += f" (rows of {relation})" if kind == "transactionid" else f" of {relation}"
    return text


class LockRoot:
    name = "lock_root"

    def evaluate(self, ctx: Context) -> list[Finding]:
        sample = ctx.sample
        if not sample.lock_roots or not sample.blocked:
            return []
        s = ctx.settings
        found: list[Finding] = []
        for root in sample.lock_roots:
            waits = [b.wait_s for b in sample.blocked if root.pid in b.blocked_by]
            longest = max(waits, default=0.0)
            if root.blocks < s["min_blocked"] or longest < s["min_wait_s"]:
                continue
            app = one_line(root.application or "(no application_name)", 64)
            state = one_line(root.state, 40)
            held = age(root.xact_s if root.xact_s is not None else root.state_s, "?")
            locks = [describe(lock) for lock in root.holds]
            last = one_line(root.query, 200)
            text = (
                f"pid {root.pid} ({app}, {state} {held}) blocks {root.blocks} sessions; "
                f"the longest has waited {longest:.0f} s"
            )
            if locks:
                text += f"; it holds {', '.join(locks[:2])}"
            if last:
                text += f"; its last statement, which may not be the one that took the lock: {last}"
            evidence = {
                "pid": root.pid, "application": root.application, "user": root.user,
                "state": root.state, "xact_s": root.xact_s, "blocks": root.blocks,
                "longest_wait_s": round(longest, 1), "last_query": last,
                "locks": locks,
                "relations": sorted({lock.relation for lock in root.holds if lock.relation}),
            }  # fmt: skip
            found.append(
                Finding(self.name, f"pid {root.pid}", Severity.CRITICAL, text, evidence,
                        float(root.blocks))
            )  # fmt: skip
        return found
