"""PgBouncer pane: per pool clients active/waiting, servers active/idle, longest wait."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from warroom.widgets.pane import Pane
from warroom.widgets.text import clean
from warroom.widgets.views import BouncerView


class BouncerPane(Pane[BouncerView]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("PgBouncer", id=id)

    def render_view(self, view: BouncerView, width: int, height: int) -> Group:
        parts: list[Text | Table] = []
        if view.banner:
            parts.append(Text(view.banner, style="bold red"))
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        for header in ("cl", "wait", "sv", "idle", "maxw"):
            table.add_column(header, justify="right")
        table.add_row(*(Text(h, style="dim") for h in ("pool", "cl", "wait", "sv", "idle", "maxw")))
        for pool in view.pools:
            table.add_row(
                Text(clean(pool.name), no_wrap=True),
                str(pool.cl_active),
                Text(str(pool.cl_waiting), style="bold red" if pool.cl_waiting else ""),
                str(pool.sv_active),
                str(pool.sv_idle),
                f"{pool.maxwait_s:.0f}s",
            )
        parts.append(table)
        return Group(*parts)
