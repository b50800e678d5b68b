"""Changes to the record's header and timeline as data, not closures.

A queued change that cannot reach the session (another process holds its lock) is kept in a
pending file beside it, and a change must be written down to be kept; so every rewrite the
dashboard makes is one of these. Each names the ``Incident`` method that applies it. Those that
log an entry carry that entry's id: when the entry is in the record, the change was applied,
which makes applying one twice (a crash between writing it and removing the pending file)
harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warroom.sessions.model import (
    Incident,
    Kind,
    ModelError,
    Source,
    Status,
    TimelineEntry,
    new_id,
)

# method -> the argument names it takes (besides entry_id)
METHODS: dict[str, tuple[str, ...]] = {
    "status_change": ("status", "at", "author", "source"),
    "severity_change": ("severity", "at", "author", "source"),
    "apply_changes": ("changes", "cleared", "at", "author", "source"),
    "edit_entry": ("id", "at", "kind", "text"),
    "delete_entry": ("id",),
    "restore_entry": ("id", "at", "kind", "text", "author", "source"),
}


@dataclass(frozen=True, slots=True)
class Mutation:
    method: str
    args: Mapping[str, Any] = field(default_factory=dict)
    entry_id: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ModelError(f"unknown change {self.method!r}")
        missing = [name for name in METHODS[self.method] if name not in self.args]
        extra = [name for name in self.args if name not in METHODS[self.method]]
        if missing or extra:
            raise ModelError(f"change {self.method}: bad arguments {sorted(missing + extra)}")

    @property
    def label(self) -> str:
        return self.method.replace("_", " ")

    # -- the dashboard's changes -------------------------------------------------------------

    @classmethod
    def status(cls, status: Status | str, at: datetime, author: str, source: Source) -> Mutation:
        return cls(
            "status_change",
            {"status": str(status), "at": at, "author": author, "source": str(source)},
            new_id(),
        )

    @classmethod
    def severity(cls, severity: str, at: datetime, author: str, source: Source) -> Mutation:
        return cls(
            "severity_change",
            {"severity": severity, "at": at, "author": author, "source": str(source)},
            new_id(),
        )

    @classmethod
    def form(
        cls, changes: Mapping[str, object], at: datetime, author: str, source: Source
    ) -> Mutation:
        # TOML has no null: a cleared field (a key time emptied) is named, not stored as None.
        kept = {k: v for k, v in changes.items() if v is not None}
        cleared = sorted(k for k, v in changes.items() if v is None)
        return cls(
            "apply_changes",
            {"changes": kept, "cleared": cleared, "at": at, "author": author,
             "source": str(source)},
            new_id(),
        )  # fmt: skip

    @classmethod
    def edit(cls, entry_id: str, at: datetime, kind: Kind | str, text: str) -> Mutation:
        return cls("edit_entry", {"id": entry_id, "at": at, "kind": str(kind), "text": text})

    @classmethod
    def delete(cls, entry_id: str) -> Mutation:
        return cls("delete_entry", {"id": entry_id})

    @classmethod
    def restore(cls, entry: TimelineEntry) -> Mutation:
        return cls(
            "restore_entry",
            {"id": entry.id, "at": entry.at, "kind": str(entry.kind), "text": entry.text,
             "author": entry.author, "source": str(entry.source)},
        )  # fmt: skip

    # -- applying ------------------------------------------------------------------------

    def applied_in(self, incident: Incident) -> bool:
        return self.entry_id is not None and any(e.id == self.entry_id for e in incident.timeline)

    def apply(self, incident: Incident) -> object:
        """Apply to ``incident`` (a Store.update copy); ModelError when the record refuses."""
        a = dict(self.args)
        if self.applied_in(incident):
            return None
        match self.method:
            case "status_change":
                return incident.status_change(
                    a["status"], a["at"], a["author"], a["source"], self.entry_id
                )
            case "severity_change":
                return incident.severity_change(
                    a["severity"], a["at"], a["author"], a["source"], self.entry_id
                )
            case "apply_changes":
                changes: dict[str, object] = dict(a["changes"])
                changes.update({name: None for name in a["cleared"]})
                return incident.apply_changes(
                    changes, a["at"], a["author"], a["source"], self.entry_id
                )
            case "edit_entry":
                return incident.replace_entry(a["id"], at=a["at"], kind=Kind(a["kind"]),
                                              text=a["text"])
            case "delete_entry":
                if any(e.id == a["id"] for e in incident.timeline):
                    return incident.remove_entry(a["id"])
                return None
            case _:
                incident.restore_entry(
                    TimelineEntry(at=a["at"], text=a["text"], kind=a["kind"], author=a["author"],
                                  source=a["source"], id=a["id"])
                )
                return None

    # -- as a TOML table (the pending file) ------------------------------------------------

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"method": self.method, "args": dict(self.args)}
        if self.entry_id is not None:
            table["entry_id"] = self.entry_id
        return table

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Mutation:
        try:
            return cls(str(table["method"]), dict(table["args"]), table.get("entry_id"))
        except (KeyError, TypeError) as exc:
            raise ModelError(f"malformed change: {exc}") from None
