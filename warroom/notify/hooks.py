"""Where events are born: a Store's writes (the dashboard's Recorder, `note`, `status`), the
dashboard's alerts and findings, and `new`. Each caller adds a line; the knowing is here.

``watch(store)`` observes every write of that Store (after it is durable, on the writing
thread: the Recorder's for the dashboard, never the UI's) and publishes status and severity
changes, resolution (with the draft's path) and notes of the chosen kinds. Alerts and findings
are published by the dashboard with their levels (``alert_soon``, ``finding_soon``), which the
timeline's text does not carry; so ``watch`` skips those entries.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom.notify import events
from warroom.notify.config import NOTE_KINDS
from warroom.notify.worker import Notifier, current, get

if TYPE_CHECKING:
    from warroom.sessions.store import Store
    from warroom.sessions.store.writer import Written

CLI_FLUSH_S = 3.0  # how long a one-shot command waits for its events to go


def watch(store: Store, opened: bool = False) -> Store:
    """Publish ``store``'s writes from now on (and, if it was just created, that the incident
    opened); reads the config (ConfigError when bad)."""
    notifier = get()
    if notifier.destinations:
        store.observe(lambda written: _written(notifier, written))
        if opened:
            announce_opened(store)
        notifier.start()  # what an earlier warroom left in the outbox goes now
    return store


def _written(notifier: Notifier, written: Written) -> None:
    try:
        for ev in changes(written):
            notifier.publish(ev)
    except Exception as exc:  # the record is written; a failure to notify must not undo that
        notifier.problem("outbox", f"cannot queue an event: {type(exc).__name__}: {exc}")


def changes(written: Written) -> list[events.Event]:
    store, before = written.store, written.before
    after = store.incident
    about = events.about(after, store.path)
    found: list[events.Event] = []
    if before is None:
        new = [e for e in written.appended if hasattr(e, "kind")]
    else:
        seen = {e.id for e in before.timeline}
        new = [e for e in after.timeline if e.id not in seen]
    new = [e for e in new if _here(after, e)]
    if not new and before is not None:
        return []  # others' changes merged into a shared incident: their warroom tells them
    for entry in new:
        kind = str(getattr(entry, "kind", ""))
        if kind in NOTE_KINDS:
            found.append(events.note(about, entry.at, kind, entry.text, entry.author))
    if before is not None and before.severity != after.severity:
        found.append(events.severity(about, _when(new), after.severity, _who(new)))
    if before is not None and before.status != after.status:
        found.append(events.status(about, _when(new), after.status.value, _who(new)))
        if after.status.value == "resolved":
            found.append(events.resolved(about, _when(new), _draft(store)))
    return found


def _here(incident: Any, entry: Any) -> bool:
    """Written on this host. In a shared incident others' entries (``author@their-host``)
    arrive through this Store too, and the warroom that wrote them notifies about them."""
    author = str(getattr(entry, "author", ""))
    if not incident.share or "@" not in author:
        return True
    from warroom.sessions.share.client import host_name

    return author.rsplit("@", 1)[1] == host_name()


def _when(new: list[Any]) -> Any:
    from warroom.sessions.times import utcnow

    return new[-1].at if new else utcnow()


def _who(new: list[Any]) -> str:
    return str(new[-1].author) if new else "warroom"


def _draft(store: Store) -> Path | None:
    """The postmortem draft, written where the dashboard's ``p`` writes it, for the link."""
    notifier = current()
    if notifier is None or not any("incident.resolved" in d.events
                                   for d in notifier.destinations.values()):  # fmt: skip
        return None
    from warroom.sessions.fileio import replace_atomically
    from warroom.sessions.postmortem import render

    path = Path(store.path).with_suffix(".postmortem.md")
    try:
        replace_atomically(path, render(store.incident.copy()).encode("utf-8"))
    except (OSError, ValueError):
        return None
    return path


# -- the dashboard (UI thread: hand-off only) ------------------------------------------------


def alert_soon(incident: Any, session: Path | None, event: Any, tag: str = "") -> None:
    notifier = current()
    if notifier is not None and notifier.destinations:
        ev = events.alert(events.about(incident, session), event)
        ev["text"] = tag + ev["text"]
        notifier.publish_soon(ev)


def finding_soon(incident: Any, session: Path | None, event: Any, tag: str = "") -> None:
    notifier = current()
    if notifier is not None and notifier.destinations and str(event.state.value) == "raised":
        ev = events.finding(events.about(incident, session), event)
        ev["text"] = tag + ev["text"]
        notifier.publish_soon(ev)


def trouble() -> str | None:
    notifier = current()
    return None if notifier is None else notifier.trouble()


# -- one-shot commands -----------------------------------------------------------------------


def announce_opened(store: Store) -> None:
    notifier = get()
    if notifier.destinations:
        inc = store.incident
        notifier.publish(events.opened(events.about(inc, store.path), inc.started_at))


def check() -> None:
    """Read the config's [[notify]] now: ConfigError before a command writes anything."""
    get()


def finish(warn: Callable[[str], None]) -> None:
    """Before a command exits: a bounded wait for its events; each failure one ``warn`` line.
    What did not go stays in the outbox for the next warroom that runs."""
    notifier = current()
    if notifier is None or not notifier.destinations:
        return
    sys.stdout.flush()  # the command's answer is out before we wait on the network
    if notifier.flush(CLI_FLUSH_S):
        return
    problems = notifier.problems() or ["notify: still sending"]
    for problem in problems:
        warn(f"{problem}; kept in the outbox for the next warroom that runs")


def warnings_to_stderr(prog: str = "warroom") -> None:
    """For headless use (`warroom record`): each failure and recovery, one line on stderr."""
    log = logging.getLogger("warroom.notify")
    if not any(getattr(h, "_warroom", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{prog}: warning: %(message)s"))
        handler._warroom = True  # type: ignore[attr-defined]
        log.addHandler(handler)
