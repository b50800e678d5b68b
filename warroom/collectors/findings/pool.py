"""Who holds the pool: one service holds most of the usable slots, on a server that is nearly full.

A service is an application and a user together (``Group``): most drivers leave
application_name blank, so the name alone would merge unrelated services and never say whose
they are. Unnamed, it is ``user X``, with its client addresses as evidence.

The rule also judges a down sample counted from process titles: the server turned warroom away
for lack of slots, so it is full by its own word. The service is then a user on a database (a
title has no application name), and when no one holds most of the slots the finding still says
the server is full and who holds the most: a full server on its host is never "no finding".
"""

from __future__ import annotations

from warroom.collectors.findings.model import Context, Finding, Severity
from warroom.collectors.sample import Connections, Count, FailureKind, Group, PgSample
from warroom.sanitize import one_line

TITLES = "process_titles"
TITLES_NOTE = "; counted from the server's process titles (no slot for warroom)"
SHOWN_CLIENTS = 3


def _label(group: Group) -> str:
    name = one_line(group.name, 64)
    if group.database is not None:
        name += f" on {one_line(group.database, 64)}"
    return name


def _clients(clients: tuple[Count, ...], total: int) -> str:
    shown = ", ".join(one_line(c.name, 64) for c in clients[:SHOWN_CLIENTS])
    more = total - min(len(clients), SHOWN_CLIENTS)
    return shown + (f" and {more} more" if more > 0 else "")


def _groups(sample: PgSample) -> tuple[Group, ...]:
    conns = sample.connections
    assert conns is not None
    if conns.by_group:
        return conns.by_group
    # Samples made before groups were counted (and hand-built ones) name applications only.
    idle = {a.name: a for a in sample.idle_tx_apps}
    return tuple(
        Group(a.name, "", a.count,
              idle_in_transaction=idle[a.name].count if a.name in idle else 0,
              oldest_idle_s=idle[a.name].oldest_s if a.name in idle else None)
        for a in conns.by_application
    )  # fmt: skip


def _full(sample: PgSample, conns: Connections, saturation_pct: float) -> bool:
    if sample.connections_source == TITLES:
        # Counted so only when the server refused warroom's connect for lack of slots.
        return sample.error is not None and sample.error.kind is FailureKind.TOO_MANY_CONNECTIONS
    return conns.saturation is not None and conns.saturation * 100.0 >= saturation_pct


class PoolHolder:
    name = "pool"
    process_titles = True

    def evaluate(self, ctx: Context) -> list[Finding]:
        sample = ctx.sample
        conns = sample.connections
        if conns is None or not (conns.by_group or conns.by_application):
            return []
        s = ctx.settings
        if not _full(sample, conns, s["saturation"]):
            return []
        titles = sample.connections_source == TITLES
        groups = _groups(sample)
        top = groups[0]
        usable = conns.usable
        # Without a known limit (never had a slot), the share is of the backends counted.
        slots = usable if usable is not None else max(conns.total, 1)
        of = f"{slots} usable slots" if usable is not None else f"{slots} client backends"
        evidence: dict[str, object] = {
            "total": conns.total, "usable": usable, "max_connections": conns.max,
            "source": sample.connections_source,
        }  # fmt: skip
        if top.count * 100.0 < s["share"] * slots:
            if not titles:
                return []  # nearly full, but shared: the saturation alert speaks for that
            return [self._full_server(conns.total, of, groups, evidence)]
        return [self._holder(top, of, slots, titles, evidence)]

    def _holder(
        self, top: Group, of: str, slots: int, titles: bool, evidence: dict[str, object]
    ) -> Finding:
        label = _label(top) if top.user or top.application else "(no application_name)"
        who = label
        if not top.application and top.clients:
            who += f" (from {_clients(top.clients, top.client_count)})"
        text = f"{who} holds {top.count} of {of}"
        evidence.update({
            "application": top.application, "user": top.user, "count": top.count,
            "clients": [{"address": c.name, "count": c.count} for c in top.clients],
            "client_count": top.client_count,
        })  # fmt: skip
        if top.database is not None:
            evidence["database"] = top.database
        if top.idle_in_transaction:
            text += f"; {top.idle_in_transaction} idle in transaction"
            evidence["idle_in_transaction"] = top.idle_in_transaction
            if top.oldest_idle_s is not None:  # process titles do not say since when
                text += f", the oldest for {top.oldest_idle_s:.0f} s"
                evidence["oldest_idle_in_transaction_s"] = round(top.oldest_idle_s, 1)
        if titles:
            text += TITLES_NOTE
        source = TITLES if titles else "server"
        return Finding(self.name, label, Severity.CRITICAL, text, evidence,
                       top.count / slots, source)  # fmt: skip

    def _full_server(
        self, total: int, of: str, groups: tuple[Group, ...], evidence: dict[str, object]
    ) -> Finding:
        most = ", ".join(f"{_label(g)} {g.count}" for g in groups[:3])
        held = of if of.endswith("client backends") else f"{total} of {of}"
        text = f"the server is full (it refused warroom): {held}; most held by {most}"
        text += TITLES_NOTE
        evidence["groups"] = [g.to_json() for g in groups[:3]]
        return Finding(self.name, "server full", Severity.CRITICAL, text, evidence,
                       groups[0].count / max(total, 1), TITLES)  # fmt: skip
