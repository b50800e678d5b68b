"""The backends view as the responder sees it at 80x24 and 120x40, frozen, with a long query.

Fixed rows stand in for the database here (the layout is the subject: a snapshot needs the same
pids and ages every run); every flow runs against a real cluster in test_backends_flows.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from tui_support import T0, Clock, make_app, new_store, settled, wait_for

from warroom.collectors.backends import Backend, Signalled
from warroom.collectors.backends_explain import Plan, Unexplainable
from warroom.collectors.sample import BlockedBackend, Failure, FailureKind, LockRoot
from warroom.tui.backends import BackendsScreen, backends_screen_factory

SIZES = [(80, 24), (120, 40)]
LONG = ("SELECT o.id, o.customer_id, o.total, c.email FROM orders o JOIN customers c ON "
        "c.id = o.customer_id WHERE o.status = 'pending' AND o.created_at < now() - interval "
        "'1 hour' ORDER BY o.created_at LIMIT 500 /* shop-api checkout-worker reconcile */")


def row(pid: int, app: str, user: str, state: str, xact: float | None, query_s: float | None,
        query: str, **more: object) -> Backend:
    fields: dict[str, object] = dict(
        pid=pid, application=app, user=user, client="10.0.3.17", state=state, xact_s=xact,
        query_s=query_s, state_s=query_s, wait_type="", wait_event="", blocked_by=(),
        query=query, backend_start=T0 - timedelta(hours=1), database="orders",
        client_port=51234,
    )
    fields.update(more)
    return Backend(**fields)  # type: ignore[arg-type]


ROWS = [
    row(4101, "checkout", "checkout", "idle in transaction", 754.0, 751.0,
        "UPDATE orders SET status = 'paid' WHERE id = $1"),
    row(4102, "shop-api", "shop", "active", 62.0, 62.0, LONG),
    row(4103, "shop-api", "shop", "active", 41.0, 41.0,
        "UPDATE orders SET status = 'paid' WHERE id = 17", wait_type="Lock",
        wait_event="transactionid", blocked_by=(4101,)),
    row(4104, "billing", "billing", "idle", None, 3.0, "COMMIT"),
    row(4105, "[psql]\x1b[31m", "ana", "active", 1.0, 1.0,
        "SELECT pg_sleep(5) -- \u202eevil\x1b]52;c;ZXZpbA==\x07"),
]


class FixedRows:
    """The rows above, every time: the layout's subject, not the database's."""

    def list_backends(self, limit: int | None = 500) -> list[Backend] | Failure:
        return list(ROWS)

    def signal_backends(self, **_kw: object) -> int | Failure:
        return Failure(FailureKind.OTHER, "not in a snapshot")

    def signal_identities(self, targets: Sequence[Backend], *,
                          terminate: bool = False) -> Signalled | Failure:  # fmt: skip
        return Failure(FailureKind.OTHER, "not in a snapshot")

    def explain(self, query: str, *, truncated: bool = False) -> Plan | Unexplainable | Failure:
        return Unexplainable("not in a snapshot")

    def lock_detail(self, roots: tuple[LockRoot, ...],
                    waiting: tuple[BlockedBackend, ...]) -> tuple[LockRoot, ...] | Failure:
        return roots


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_backends_view_with_a_long_query(snap_compare, tmp_path: Path, size) -> None:
    clock = Clock()
    app = make_app(new_store(tmp_path), clock, backends_factory=backends_screen_factory(
        FixedRows()))  # fmt: skip

    async def run_before(pilot) -> None:
        await settled(pilot, app)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BackendsScreen)
                       and app.screen.shown)  # fmt: skip
        await pilot.press("down")  # the long query's row: its start fills the pane
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
