"""## Corrective and Preventative Measures: the action items, with where each stands.

A checkbox per item (ticked when done), then its status, kind, owner and due date. An open item
without an owner or a due date says so: an item nobody owns by no date is seldom done. A dropped
one (wont_do) stays listed as "won't do", so the review sees what was decided against.
"""

from __future__ import annotations

from warroom.sessions.model import ActionItem, ActionStatus, Incident
from warroom.sessions.postmortem.markdown import one_line

_STATUS = {
    ActionStatus.OPEN: "open",
    ActionStatus.DONE: "done",
    ActionStatus.WONT_DO: "won't do",
}


def _action_item(item: ActionItem) -> list[str]:
    is_open = item.status is ActionStatus.OPEN
    meta = [_STATUS[item.status], item.kind.value]
    owner = one_line(item.owner)
    if owner:
        meta.append(f"owner: {owner}")
    elif is_open:
        meta.append("TODO: assign an owner")
    if item.due is not None:
        meta.append(f"due {item.due.isoformat()}")
    elif is_open:
        meta.append("TODO: set a due date")
    box = "[x]" if item.done else "[ ]"
    text = one_line(item.text) or "TODO: describe this action item"
    return [f"- {box} {text} — {' · '.join(meta)}"]


def _measures(incident: Incident) -> list[str]:
    if not incident.action_items:
        return ["TODO: list what will stop this happening again, or catch it sooner: each item "
                "with an owner, a kind (prevent, mitigate, detect, process) and a due date "
                "(`warroom action add TEXT --owner NAME --due DATE`, or `a` in the dashboard)."]
    lines: list[str] = []
    for item in incident.action_items:
        lines += _action_item(item)
    return lines
