"""The dashboard's key table: every action once, with its key, footer label, palette help, and
where it applies: a live incident, a replayed one (with the recorder's frames or without), or
the recorder's history with no incident.

The App's bindings, its footer and the command palette are all made from this table, and
``check_action`` hides an action where it does not apply: replay shows no key that would open a
form only to refuse it on submit, and live shows no play or seek key.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from warroom.tui.notes import PREFIX_HELP

LIVE = "live"
REPLAY = "replay"
FRAMES = "replay-frames"  # a replay with the recorder's frames: the backends at the cursor
RECORDER = "recorder"  # `replay --recorder`: the recorder's history, no incident
EVERYWHERE = frozenset({LIVE, REPLAY, FRAMES, RECORDER})
LIVE_ONLY = frozenset({LIVE})
REPLAY_ONLY = frozenset({REPLAY, FRAMES, RECORDER})  # a clock that moves
AN_INCIDENT = frozenset({LIVE, REPLAY, FRAMES})  # a record to note in and draft from
BACKENDS = frozenset({LIVE, FRAMES, RECORDER})  # a server, or frames of one

# How a key is written for a person (the palette's titles).
_KEY_TEXT = {"question_mark": "?", "right_square_bracket": "]", "left_square_bracket": "[",
             "plus": "+", "minus": "-", "right": "→", "left": "←", "shift+right": "shift+→",
             "shift+left": "shift+←"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Act:
    """One user action: a key, a palette entry and a footer label, from one table."""

    key: str
    action: str
    label: str
    help: str
    show: bool = True
    priority: bool = False
    where: frozenset[str] = EVERYWHERE

    @property
    def name(self) -> str:
        """The action without its parameters (what ``check_action`` is asked about)."""
        return self.action.split("(", 1)[0]

    @property
    def key_text(self) -> str:
        first = self.key.split(",")[0]
        return _KEY_TEXT.get(first, first)


ACTIONS: tuple[Act, ...] = (
    # Priority: the app handles `n` the moment it reads it, so text typed in the same burst
    # already goes to the note box (a normal binding runs a loop turn later, too late).
    Act("n", "note", "Note", "Add a note to the timeline (HH:MM backdates; " + PREFIX_HELP + ")",
        priority=True, where=AN_INCIDENT),
    Act("e", "edit_entry", "Edit", "Edit the selected timeline entry (time, kind, text)",
        where=LIVE_ONLY),
    Act("d,delete", "delete_entry", "Delete", "Delete the selected timeline entry (asks first)",
        show=False, where=LIVE_ONLY),
    Act("u", "undo_delete", "Undo", "Undo the last delete", show=False, where=LIVE_ONLY),
    Act("s", "status", "Status", "Change the incident status", where=LIVE_ONLY),
    Act("v", "severity", "Severity", "Change the incident severity", show=False,
        where=LIVE_ONLY),
    Act("i", "incident_form", "Incident", "Edit title, key times, summary, root cause, roles",
        show=False, where=LIVE_ONLY),
    Act("a", "action_item", "Action item", "Add a follow-up to the postmortem's checklist",
        show=False, where=LIVE_ONLY),
    Act("b", "backends", "Backends", "Who holds connections; cancel or terminate backends "
        "(in a replay: who held them at the cursor, read-only)", where=BACKENDS),
    Act("p", "postmortem", "Draft", "Write the postmortem draft and show it", where=AN_INCIDENT),
    Act("t", "toggle_time", "UTC/local", "Show times in UTC or local time", show=False),
    Act("question_mark", "help", "Help", "Show the keys"),
    Act("q", "quit_saved", "Quit", "Quit (everything is already saved)"),
)

# A replay's clock: priority, or the timeline would take the arrows and Home/End.
PLAYBACK: tuple[Act, ...] = tuple(
    Act(key, action, label, help, show=key in ("space", "right", "left"), priority=True,
        where=REPLAY_ONLY)
    for key, action, label, help in (
        ("space", "play", "Play/pause", "Play or pause the replay"),
        ("right", "step(10)", "+10 s", "Move the cursor 10 seconds on"),
        ("left", "step(-10)", "-10 s", "Move the cursor 10 seconds back"),
        ("shift+right", "step(60)", "+1 min", "Move the cursor a minute on"),
        ("shift+left", "step(-60)", "-1 min", "Move the cursor a minute back"),
        ("right_square_bracket", "entry(1)", "Next entry", "Go to the next timeline entry"),
        ("left_square_bracket", "entry(0)", "Previous entry", "Go to the previous entry"),
        ("home", "jump(0)", "Start", "Go to the start of the record"),
        ("end", "jump(1)", "End", "Go to the end of the record"),
        ("plus", "speed(1)", "Faster", "Play faster"),
        ("minus", "speed(0)", "Slower", "Play slower"),
    )
)

# The recorder's history with no incident: `n` starts one (not priority: typed into a text box,
# the backends filter, `n` is a letter).
BROWSING: tuple[Act, ...] = (
    Act("n", "new_incident", "New incident",
        "Start an incident whose impact began at the cursor, with the recorder's lead-up",
        where=frozenset({RECORDER})),
)

SCREENSHOT = Act("S", "screenshot", "Screenshot",
                 "Save an SVG picture of the screen beside the session", show=False)

# Their keys (space, the arrows, Home/End, [ ] + -) edit the text in a box: they yield to it.
YIELDS_TO_TEXT = frozenset(act.name for act in PLAYBACK)

WHERE: dict[str, frozenset[str]] = {
    act.name: act.where for act in (*ACTIONS, *BROWSING, *PLAYBACK)
}


def _binding(act: Act, id: str) -> Binding:
    return Binding(act.key, act.action, act.label, show=act.show, id=id, tooltip=act.help,
                   priority=act.priority)  # fmt: skip


def bindings() -> list[Binding]:
    """The App's bindings. A key bound twice (the arrows: a replay's seek, else the next
    server) goes to the first binding ``check_action`` allows."""
    playback = {act.key: act for act in PLAYBACK}
    out = [_binding(act, f"app.{act.action}") for act in (*ACTIONS, *BROWSING)]
    out.append(_binding(SCREENSHOT, "app.screenshot"))
    for key, step in (("left", -1), ("right", 1)):
        act = playback.pop(key)
        out.append(_binding(act, f"replay.{act.action}"))
        # Priority: the timeline would take the arrows otherwise; check_action lets them
        # through to a text box and when only one server is watched.
        out.append(Binding(key, f"step_server({step})", "Prev server" if step < 0 else
                           "Next server", show=False, priority=True,
                           id=f"app.{'prev' if step < 0 else 'next'}_server"))  # fmt: skip
    out += [Binding(str(n), f"server({n - 1})", f"Server {n}", show=False, id=f"app.server{n}",
                    tooltip="Show this server's panes (with several servers)")
            for n in range(1, 10)]  # fmt: skip
    out += [_binding(act, f"replay.{act.action}") for act in playback.values()]
    return out
