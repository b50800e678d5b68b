"""Writes that could not reach the session yet, kept durably beside it (``PATH.pending-PID``).

While another process holds the session's lock, the Recorder keeps what it has queued here
(rewritten atomically whenever the queue changes), so a SIGKILL or a quit while the lock is
still held loses nothing. The file holds the same blocks as the session plus ``[[changes]]``
(mutations as data). The next writer to open the session adds whatever of it is not in the
record yet, in one atomic rewrite, then removes it: entries and action items are known by id,
rollups by their server and window start, changes by the entry they log, so nothing is added twice.
Only the files of writers that are gone are taken (a live one still owns its queue).
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from warroom.sessions import fileio
from warroom.sessions.model import ActionItem, Incident, ModelError, SampleRollup, TimelineEntry
from warroom.sessions.mutations import Mutation
from warroom.sessions.toml_codec import (
    FieldError,
    action_item_table,
    decode_action_item,
    decode_entry,
    decode_rollup,
    entry_table,
    render_block,
    rollup_table,
)

try:
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency
    import tomllib  # type: ignore[no-redef]

SUFFIX = "pending"


@dataclass(slots=True)
class Pending:
    """Queued writes in the order they were made."""

    entries: list[tuple[TimelineEntry, bool]] = field(default_factory=list)  # (entry, detects)
    action_items: list[ActionItem] = field(default_factory=list)
    samples: list[SampleRollup] = field(default_factory=list)
    changes: list[Mutation] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries) + len(self.action_items) + len(self.samples) + len(self.changes)

    def add(self, other: Pending) -> None:
        self.entries.extend(other.entries)
        self.action_items.extend(other.action_items)
        self.samples.extend(other.samples)
        self.changes.extend(other.changes)


def pending_path(path: Path, pid: int | None = None) -> Path:
    return path.with_name(f"{path.name}.{SUFFIX}-{pid if pid is not None else os.getpid()}")


def render(pending: Pending) -> bytes:
    parts = [b"# writes warroom could not add to the session yet; the next writer adds them\n"]
    for entry, detects in pending.entries:
        table = entry_table(entry)
        if detects:
            table = {"detects": True, **table}
        parts.append(render_block("timeline", table))
    parts.extend(render_block("action_items", action_item_table(a)) for a in pending.action_items)
    parts.extend(render_block("samples", rollup_table(r)) for r in pending.samples)
    parts.extend(render_block("changes", m.to_table()) for m in pending.changes)
    return b"".join(parts)


def write(path: Path, pending: Pending) -> Path:
    """Keep ``pending`` beside ``path`` (atomically, 0600); removes the file when empty."""
    target = pending_path(path)
    if not len(pending):
        discard(path)
        return target
    fileio.replace_atomically(target, render(pending))
    return target


def discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        pending_path(path).unlink()
        fileio.fsync_dir(path.parent)


def parse(data: bytes) -> Pending:
    """Raises ValueError (TOML, FieldError, ModelError) when the file is not readable."""
    doc = tomllib.loads(data.decode("utf-8"))
    out = Pending()
    for i, table in enumerate(doc.get("timeline", [])):
        table = dict(table)
        detects = bool(table.pop("detects", False))
        out.entries.append((decode_entry(table, i), detects))
    out.action_items = [decode_action_item(t, i) for i, t in enumerate(doc.get("action_items", []))]
    out.samples = [decode_rollup(t, i) for i, t in enumerate(doc.get("samples", []))]
    out.changes = [Mutation.from_table(t) for t in doc.get("changes", [])]
    return out


def left_by_dead_writers(path: Path) -> list[Path]:
    prefix = f"{path.name}.{SUFFIX}-"
    found: list[Path] = []
    for candidate in sorted(path.parent.glob(f"{glob.escape(prefix)}*")):
        pid_text = candidate.name[len(prefix) :]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        import psutil  # only when such a file is there: most opens find none

        if not psutil.pid_exists(int(pid_text)):
            found.append(candidate)
    return found


def merge_into(incident: Incident, pending: Pending) -> int:
    """Add to ``incident`` what of ``pending`` it lacks; returns how many writes were added."""
    added = 0
    ids = {e.id for e in incident.timeline}
    for entry, detects in pending.entries:
        if entry.id not in ids:
            incident.add_entry(entry, detects=detects)
            ids.add(entry.id)
            added += 1
    item_ids = {a.id for a in incident.action_items}
    for item in pending.action_items:
        if item.id not in item_ids:
            incident.action_items.append(item)
            item_ids.add(item.id)
            added += 1
    if pending.samples:
        # Only now are the record's rollups needed (a writer may have left them undecoded).
        # Several servers share each window start: by start alone, all but one would be dropped.
        windows = {(r.server, r.at) for r in incident.samples}
        for rollup in pending.samples:
            if (rollup.server, rollup.at) not in windows:
                incident.samples.append(rollup)
                windows.add((rollup.server, rollup.at))
                added += 1
        incident.samples.sort(key=lambda r: r.at)
    for change in pending.changes:
        if change.applied_in(incident):
            continue
        try:
            change.apply(incident)
            added += 1
        except ModelError:
            # The record moved on (the entry was deleted meanwhile): the change no longer fits.
            continue
    return added


def read_all(files: Iterable[Path]) -> tuple[Pending, Sequence[Path], list[str]]:
    """Every readable pending file merged; unreadable ones are kept and named in problems."""
    merged = Pending()
    taken: list[Path] = []
    problems: list[str] = []
    for file in files:
        try:
            merged.add(parse(file.read_bytes()))
            taken.append(file)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError, ModelError,
                ValueError) as exc:  # fmt: skip
            problems.append(f"{file}: {exc}")
    return merged, taken, problems
