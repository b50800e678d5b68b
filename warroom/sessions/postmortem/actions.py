"""## Corrective and Preventative Measures: the action items."""

from __future__ import annotations

from warroom.sessions.model import ActionItem, Incident
from warroom.sessions.postmortem.markdown import one_line


def _action_item(item: ActionItem) -> list[str]:
    meta = [item.kind.value]
    owner = one_line(item.owner)
    if owner:
        meta.append(f"owner: {owner}")
    elif not item.done:
        meta.append("TODO: assign an owner")
    if item.due is not None:
        meta.append(f"due {item.due.isoformat()}")
    elif not item.done:
        meta.append("TODO: set a due date")
    box = "[x]" if item.done else "[ ]"
    text = one_line(item.text) or "TODO: describe this action item"
    return [f"- {box} {text} — {' · '.join(meta)}"]


def _measures(incident: Incident) -> list[str]:
    if not incident.action_items:
        return ["TODO: list what will stop this happening again, or catch it sooner: each item "
                "with an owner, a kind (prevent, mitigate, detect, process) and a due date "
                "(`warroom` action items)."]
    lines: list[str] = []
    for item in incident.action_items:
        lines += _action_item(item)
    return lines
