"""The incident record: Incident, TimelineEntry, ActionItem, SampleRollup and their rules.

SampleRollup is defined outside both packages (``warroom.rollup``) and named here,
so the record and the dashboard share the one type.

One module of ~530 lines on purpose: the record's types and the rules that keep its key times,
statuses and limits consistent check each other, and a reader should find them in one place.

Plain dataclasses; no I/O. The store turns them into TOML and back, the draft reads them, the TUI
edits them. Key timestamps are kept consistent here: an out-of-order timestamp is refused with a
message that names both fields, never silently fixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from warroom.rollup import Pairs as Pairs  # re-exported: the record's own names
from warroom.rollup import PoolFigure as PoolFigure
from warroom.rollup import RefusedFigure as RefusedFigure
from warroom.rollup import SampleRollup as SampleRollup
from warroom.sessions.ids import UUID_RE, new_uuid7
from warroom.sessions.times import as_utc, format_utc

SEVERITIES: tuple[str, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")
DEFAULT_SEVERITY = "SEV2"


class ModelError(ValueError):
    """A change the record refuses; the message is fit for one error line."""


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Kind(StrEnum):
    NOTE = "note"
    ACTION = "action"
    DECISION = "decision"
    DETECTION = "detection"
    ESCALATION = "escalation"
    MISLEADING = "misleading"
    STATUS = "status"
    ALERT = "alert"
    METRIC = "metric"
    RESOLUTION = "resolution"
    FINDING = "finding"  # a findings rule's conclusion with its evidence (source auto)
    CHANGE = "change"  # the server itself changed: restart, reload with settings, promotion


class Source(StrEnum):
    MANUAL = "manual"
    CLI = "cli"
    AUTO = "auto"
    REVIEW = "review"  # added while replaying a recorded incident


class ActionKind(StrEnum):
    PREVENT = "prevent"
    MITIGATE = "mitigate"
    DETECT = "detect"
    PROCESS = "process"


class ActionStatus(StrEnum):
    """Where a follow-up stands. Only ``open`` items are due; ``wont_do`` is a decision to drop
    one (kept, so the draft and the history show what was decided against)."""

    OPEN = "open"
    DONE = "done"
    WONT_DO = "wont_do"


# The key timestamps in the order an incident normally moves through them.
KEY_TIMES: tuple[str, ...] = (
    "started_at",
    "detected_at",
    "identified_at",
    "mitigated_at",
    "resolved_at",
)

# Which key timestamp a status change stamps. Investigating means someone is on it, so the
# incident has been detected by then.
STATUS_TIME: dict[Status, str] = {
    Status.INVESTIGATING: "detected_at",
    Status.IDENTIFIED: "identified_at",
    Status.MONITORING: "mitigated_at",
    Status.RESOLVED: "resolved_at",
}

# (earlier, later) pairs that must not be reversed. Mitigation may come before the cause is
# identified (a restart buys time), so identified/mitigated are deliberately not ordered.
_ORDER: tuple[tuple[str, str], ...] = (
    ("started_at", "detected_at"),
    ("started_at", "identified_at"),
    ("started_at", "mitigated_at"),
    ("started_at", "resolved_at"),
    ("detected_at", "identified_at"),
    ("detected_at", "mitigated_at"),
    ("detected_at", "resolved_at"),
    ("identified_at", "resolved_at"),
    ("mitigated_at", "resolved_at"),
)

# What a person may type into one field. A note holds what a responder pastes (a plan, a log
# excerpt): 64 KiB is some 800 lines, far more than anyone reads on a timeline, and bounds what
# every frame, rewrite and reader pays for one entry; longer output belongs in a file the note
# names. A title is one line in lists, headers and pane titles. Enforced where text is typed
# (new entries, edits, the form, `new`), never on reading: an older record or another host's
# entry over a limit is read and shown (the timeline folds long entries).
NOTE_MAX_BYTES = 64 * 1024
TITLE_MAX_CHARS = 200

TEXT_FIELDS: tuple[str, ...] = ("summary", "impact", "trigger", "root_cause", "resolution")
ROLE_NAMES: tuple[str, ...] = ("commander", "scribe", "comms")
# The conditions that let the root cause do harm (PagerDuty's contributing factors, Atlassian's
# causes besides the proximate one): a list, one factor each, not folded into root_cause.
FACTORS = "contributing_factors"
# What the incident form may change, and so what ``apply_changes`` accepts.
FORM_FIELDS: frozenset[str] = frozenset(
    {"title", *KEY_TIMES, *TEXT_FIELDS, *ROLE_NAMES, FACTORS}
)


def check_note_text(text: str, what: str = "a note") -> str:
    """Refuse text over ``NOTE_MAX_BYTES`` (UTF-8), with a message fit for one error line."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > NOTE_MAX_BYTES:
        raise ModelError(
            f"{what} is {size:,} bytes; the limit is {NOTE_MAX_BYTES // 1024} KiB "
            f"({NOTE_MAX_BYTES:,} bytes): put long output in a file and note where it is"
        )
    return text


def check_title(title: str) -> str:
    """Refuse a title over ``TITLE_MAX_CHARS`` characters."""
    if len(title) > TITLE_MAX_CHARS:
        raise ModelError(
            f"the title is {len(title):,} characters; the limit is {TITLE_MAX_CHARS}"
        )
    return title


def check_typed(entry: TimelineEntry) -> TimelineEntry:
    """A new entry as a person typed it; warroom's own (source auto) are not limited, so what
    the dashboard records for itself is never lost to a limit."""
    if entry.source is not Source.AUTO:
        check_note_text(entry.text)
    return entry


def new_id() -> str:
    """A UUIDv7: unique across processes and hosts without coordination, ordered by time.

    Files written before sharing hold 8-hex ids; ids are only ever compared, so both work.
    """
    return new_uuid7()


def slugify(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "incident"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    text: str
    kind: Kind = Kind.NOTE
    author: str = ""
    source: Source = Source.MANUAL
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", as_utc(self.at))
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "source", Source(self.source))


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A follow-up. ``status`` says where it stands; ``done`` is the file's older word for it
    (a record written before statuses has only ``done``: open unless done)."""

    text: str
    owner: str = ""
    kind: ActionKind = ActionKind.PREVENT
    due: date | None = None
    status: ActionStatus = ActionStatus.OPEN
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ActionKind(self.kind))
        object.__setattr__(self, "status", ActionStatus(self.status))

    @property
    def done(self) -> bool:
        return self.status is ActionStatus.DONE

    def with_status(self, status: ActionStatus | str) -> ActionItem:
        return replace(self, status=ActionStatus(status))

    def overdue(self, today: date) -> bool:
        """Open with its due date passed: a due date is the whole day, so overdue the day after."""
        return self.status is ActionStatus.OPEN and self.due is not None and self.due < today


@dataclass(slots=True)
class Roles:
    commander: str = ""
    scribe: str = ""
    comms: str = ""


@dataclass(frozen=True, slots=True)
class Server:
    """One of several watched servers, by the name alerts, rollups and the strip use."""

    name: str
    dsn: str = ""
    pgbouncer: str = ""


@dataclass(slots=True)
class Target:
    """What is being watched. The DSN is stored with its password removed.

    With several servers, ``servers`` lists them all (the first is also ``dsn``/``pgbouncer``,
    so a reader that knows one server sees the first).
    """

    dsn: str = ""
    pgbouncer: str = ""
    servers: tuple[Server, ...] = ()


@dataclass(slots=True)
class Incident:
    id: str
    title: str
    started_at: datetime
    severity: str = DEFAULT_SEVERITY
    status: Status = Status.INVESTIGATING
    detected_at: datetime | None = None
    identified_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""
    impact: str = ""
    trigger: str = ""
    root_cause: str = ""
    resolution: str = ""
    contributing_factors: tuple[str, ...] = ()
    roles: Roles = field(default_factory=Roles)
    target: Target = field(default_factory=Target)
    share: str = ""  # the ops database this incident is shared through (no password); "" = not
    timeline: list[TimelineEntry] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    samples: list[SampleRollup] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        self.contributing_factors = tuple(self.contributing_factors)
        check_severity(self.severity)
        for name in KEY_TIMES:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, as_utc(value))
        self.check_key_times()

    @classmethod
    def create(
        cls,
        title: str,
        started_at: datetime,
        severity: str = DEFAULT_SEVERITY,
        target: Target | None = None,
    ) -> Incident:
        title = check_title(title.strip())
        if not title:
            raise ModelError("an incident needs a title")
        started_at = as_utc(started_at)
        ident = f"{started_at:%Y%m%d-%H%M}-{slugify(title)}"
        return cls(
            id=ident,
            title=title,
            started_at=started_at,
            severity=severity,
            target=target or Target(),
        )

    def copy(self) -> Incident:
        """A copy safe to change: new lists and header objects; entries are frozen, so shared."""
        return replace(
            self,
            roles=replace(self.roles),
            target=replace(self.target),
            timeline=list(self.timeline),
            action_items=list(self.action_items),
            # copy(), not list(): rollups a writer left undecoded (sessions.rollups) stay so.
            samples=self.samples.copy(),
        )

    # -- key timestamps ------------------------------------------------------------------

    def key_times(self) -> dict[str, datetime | None]:
        return {name: getattr(self, name) for name in KEY_TIMES}

    def check_key_times(self, times: dict[str, datetime | None] | None = None) -> None:
        times = times if times is not None else self.key_times()
        for earlier, later in _ORDER:
            first, second = times.get(earlier), times.get(later)
            if first is not None and second is not None and second < first:
                raise ModelError(
                    f"{later} ({format_utc(second)}) is before {earlier} ({format_utc(first)}); "
                    f"give a time at or after {format_utc(first)}, or correct {earlier} first"
                )

    def set_key_time(self, name: str, value: datetime | None) -> None:
        """Set one key timestamp after checking it against the others."""
        if name not in KEY_TIMES:
            raise ModelError(f"unknown key timestamp {name!r}")
        if name == "started_at" and value is None:
            raise ModelError("started_at (impact start) cannot be cleared")
        value = as_utc(value) if value is not None else None
        times = self.key_times() | {name: value}
        self.check_key_times(times)
        setattr(self, name, value)

    # -- changes that land on the timeline -------------------------------------------------

    def add_entry(self, entry: TimelineEntry, detects: bool = False) -> bool:
        """Append ``entry``; a first detection entry sets ``detected_at``.

        ``detects`` says the entry is a detection whatever its kind: the first alert the
        dashboard raises means monitoring noticed, so the draft's time to detect is measured.
        Returns True when a header field changed as a result (the store must then rewrite).
        """
        header_changed = False
        if (entry.kind is Kind.DETECTION or detects) and self.detected_at is None:
            self.set_key_time("detected_at", entry.at)
            header_changed = True
        self.timeline.append(entry)
        return header_changed

    def status_change(
        self,
        status: Status | str,
        at: datetime,
        author: str = "",
        source: Source | str = Source.MANUAL,
        entry_id: str | None = None,
    ) -> TimelineEntry:
        """Move to ``status`` at ``at``: stamp its key timestamp and log a status entry.

        The first time wins for a key timestamp already set (a second "identified" does not move
        identified_at); reopening a resolved incident clears resolved_at.
        """
        try:
            new = Status(status)
        except ValueError:
            choices = ", ".join(s.value for s in Status)
            raise ModelError(f"unknown status {status!r} (choose from {choices})") from None
        at = as_utc(at)
        old = self.status
        times = self.key_times()
        stamp = STATUS_TIME[new]
        if times[stamp] is None:
            times[stamp] = at
        if old is Status.RESOLVED and new is not Status.RESOLVED:
            times["resolved_at"] = None
        self.check_key_times(times)
        for name, value in times.items():
            setattr(self, name, value)
        self.status = new
        text = f"status: {old.value} -> {new.value}" if old is not new else f"status: {new.value}"
        if old is Status.RESOLVED and new is not Status.RESOLVED:
            text += " (reopened)"
        entry = TimelineEntry(
            at=at, text=text, kind=Kind.STATUS, author=author, source=Source(source),
            id=entry_id or new_id(),
        )  # fmt: skip
        self.timeline.append(entry)
        return entry

    def set_severity(self, severity: str) -> None:
        self.severity = check_severity(severity)

    def severity_change(
        self,
        severity: str,
        at: datetime,
        author: str = "",
        source: Source | str = Source.MANUAL,
        entry_id: str | None = None,
    ) -> TimelineEntry:
        """Set the severity and log the change (``severity: SEV2 -> SEV1``)."""
        old = self.severity
        self.set_severity(severity)
        entry = TimelineEntry(
            at=at, text=f"severity: {old} -> {severity}", kind=Kind.STATUS, author=author,
            source=Source(source), id=entry_id or new_id(),
        )  # fmt: skip
        self.timeline.append(entry)
        return entry

    def check_changes(self, changes: dict[str, object]) -> None:
        """Refuse form changes the record cannot take; the message names the field."""
        unknown = sorted(set(changes) - FORM_FIELDS)
        if unknown:
            raise ModelError(f"unknown incident field {unknown[0]!r}")
        if "started_at" in changes and changes["started_at"] is None:
            raise ModelError("impact start cannot be empty")
        if "title" in changes and not str(changes["title"] or "").strip():
            raise ModelError("the incident needs a title")
        # Only what changes is typed text: a field an older record holds over a limit stays.
        if "title" in changes and changes["title"] != self.title:
            check_title(str(changes["title"]).strip())
        for name in TEXT_FIELDS:
            if name in changes and changes[name] != getattr(self, name):
                check_note_text(str(changes[name] or ""), name)
        if FACTORS in changes:
            factors = factor_list(changes[FACTORS])
            old = set(self.contributing_factors)
            for number, factor in enumerate(factors, 1):
                if factor not in old:
                    check_note_text(factor, f"contributing factor {number}")
        times = self.key_times() | {k: v for k, v in changes.items() if k in KEY_TIMES}
        self.check_key_times(times)  # type: ignore[arg-type]

    def apply_changes(
        self,
        changes: dict[str, object],
        at: datetime,
        author: str = "",
        source: Source | str = Source.MANUAL,
        entry_id: str | None = None,
    ) -> TimelineEntry:
        """The incident form's changes, checked once, and an entry naming what changed."""
        self.check_changes(changes)
        for name, value in changes.items():
            if name in KEY_TIMES:
                setattr(self, name, as_utc(value) if isinstance(value, datetime) else None)
            elif name in ROLE_NAMES:
                setattr(self.roles, name, str(value or ""))
            elif name == FACTORS:
                self.contributing_factors = factor_list(value)
            else:
                setattr(self, name, str(value or ""))
        entry = TimelineEntry(
            at=at, text=f"incident record updated: {', '.join(sorted(changes))}",
            kind=Kind.NOTE, author=author, source=Source(source), id=entry_id or new_id(),
        )  # fmt: skip
        self.timeline.append(entry)
        return entry

    # -- follow-ups ----------------------------------------------------------------------------

    def action_item(self, ident: str) -> ActionItem:
        """The action item ``ident`` names: its whole id, or the start of exactly one id."""
        exact = [a for a in self.action_items if a.id == ident]
        found = exact or [a for a in self.action_items if ident and a.id.startswith(ident)]
        if not found:
            raise ModelError(f"no action item with id {ident!r} (`warroom action list` shows them)")
        if len(found) > 1:
            raise ModelError(
                f"{ident!r} starts {len(found)} action item ids; give more of the id"
            )
        return found[0]

    def set_action_status(self, ident: str, status: ActionStatus | str) -> ActionItem:
        """Close (or reopen) a follow-up; the same status twice is a no-op, not an error."""
        old = self.action_item(ident)
        new = old.with_status(status)
        self.action_items[self.action_items.index(old)] = new
        return new

    def restore_entry(self, entry: TimelineEntry) -> None:
        """Put a deleted entry back (undo); a no-op when it is there already."""
        if all(e.id != entry.id for e in self.timeline):
            self.timeline.append(entry)

    # -- queries ---------------------------------------------------------------------------

    def entries_in_order(self) -> list[TimelineEntry]:
        """Timeline by time; entries with the same time keep the order they were written in.

        Hosts sharing an incident append the same entries in different orders, so at equal
        times UUIDv7 ids (ordered by creation) decide; old 8-hex ids keep their file order.
        """
        return sorted(self.timeline, key=_entry_order)

    def entry(self, entry_id: str) -> TimelineEntry:
        for candidate in self.timeline:
            if candidate.id == entry_id:
                return candidate
        raise ModelError(f"no timeline entry with id {entry_id!r}")

    def replace_entry(self, entry_id: str, **changes: object) -> TimelineEntry:
        old = self.entry(entry_id)
        if "text" in changes and changes["text"] != old.text:
            check_note_text(str(changes["text"]))  # an edit is typed text; unchanged is kept
        new = replace(old, **changes)  # type: ignore[arg-type]
        self.timeline[self.timeline.index(old)] = new
        return new

    def remove_entry(self, entry_id: str) -> TimelineEntry:
        old = self.entry(entry_id)
        self.timeline.remove(old)
        return old

    @property
    def end(self) -> datetime | None:
        """When impact ended: resolution, else mitigation; None while ongoing."""
        return self.resolved_at or self.mitigated_at


def _entry_order(entry: TimelineEntry) -> tuple[datetime, str]:
    return (entry.at, entry.id if UUID_RE.match(entry.id) else "")


def factor_list(value: object) -> tuple[str, ...]:
    """Contributing factors as the record keeps them: stripped, blanks and repeats left out."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ModelError("contributing factors are a list of texts")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ModelError("contributing factors are a list of texts")
        text = item.strip()
        if text and text not in out:
            out.append(text)
    return tuple(out)


def check_severity(severity: str) -> str:
    if severity not in SEVERITIES:
        raise ModelError(f"unknown severity {severity!r} (choose from {', '.join(SEVERITIES)})")
    return severity


class Window(Protocol):
    """A rollup's window and server: a SampleRollup, or a block's head (sessions.rollups)."""

    @property
    def at(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def server(self) -> str | None: ...


W = TypeVar("W", bound=Window)


def rollups_by_server(
    samples: Iterable[W], order: Iterable[str] = ()
) -> dict[str | None, list[W]]:
    """Each server's rollups, in time order (rollups of one window keep their file order).

    With several servers the dashboard appends one rollup per server per window, all with the
    same ``at``: read as one stream they would zigzag between servers, so everything that draws
    or replays a series takes one server's list from here. Keys: the names of ``order`` (watch
    order, ``Target.servers``) that have rollups, then the others as they first appear; None
    holds rollups that name no server, the only key of a single-server session.
    """
    found: dict[str | None, list[W]] = {}
    for rollup in samples:
        found.setdefault(rollup.server, []).append(rollup)
    ordered: dict[str | None, list[W]] = {}
    for name in order:
        if name in found and name not in ordered:
            ordered[name] = found[name]
    for name, rollups in found.items():
        ordered.setdefault(name, rollups)
    for rollups in ordered.values():
        rollups.sort(key=lambda r: r.at)  # stable: a window's own order survives
    return ordered


def first_server_rollups(incident: Incident) -> list[SampleRollup]:
    """The rollups of the first watched server that has any (all of them with one server).

    What replay, resume and the draft's pictures show while they draw one server.
    """
    by_server = rollups_by_server(incident.samples, (s.name for s in incident.target.servers))
    return next(iter(by_server.values()), [])


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))

