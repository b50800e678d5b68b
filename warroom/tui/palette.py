"""The command palette's entries: every action that applies here, from the key table."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from textual.app import SystemCommand

from warroom.tui.keys import ACTIONS, BROWSING, PLAYBACK, SCREENSHOT, Act
from warroom.tui.parts import Drill, Watched
from warroom.widgets.text import clean


def dashboard_commands(
    where: str,
    run: Callable[[str], object],
    drill: Drill | None,
    servers: Sequence[Watched],
    select: Callable[[int], None],
) -> Iterable[SystemCommand]:
    """``where``: the session's kind (keys.LIVE, keys.REPLAY, ...); ``run`` runs an action."""
    if drill is not None:
        for index, drill_act in enumerate(drill.actions()):
            yield SystemCommand(f"Drill: {drill_act.label} ({drill_act.key})", drill_act.help,
                                lambda i=index: run(f"drill({i})"))  # fmt: skip
    acts: tuple[Act, ...] = (*ACTIONS, *BROWSING, SCREENSHOT, *PLAYBACK)
    for act in acts:
        if where in act.where:
            yield SystemCommand(f"{act.label} ({act.key_text})", act.help,
                                lambda name=act.action: run(name))  # fmt: skip
    for index, watched in enumerate(servers if len(servers) > 1 else ()):
        yield SystemCommand(f"Server: {clean(watched.name, 40)} ({index + 1})",
                            "Show this server's panes below the strip",
                            lambda i=index: select(i))  # fmt: skip
