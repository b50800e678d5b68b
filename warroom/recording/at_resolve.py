"""Frames with the incident: resolving it saves its frames beside it (``NAME.frames.sqlite``).

``keep_frames(store, report)`` observes a Store (the dashboard's, or `warroom status`'s): when a
write of it turns the incident resolved, the frames of its span are copied from this host's
recorder store (``[record]``: its store and lead-up) by ``export.save_frames`` on a thread of
their own, so neither the dashboard's writer nor its UI waits for the copy. The thread is not a
daemon: a command or dashboard that exits right after still leaves the file. No recorder store
here, or none that kept this incident's server then: nothing, silently (the recorder is
optional). Any other failure is one ``report`` line; the incident stays resolved either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.sessions.model import Status

if TYPE_CHECKING:
    from warroom.sessions.recorder import Recorder as SessionRecorder
    from warroom.sessions.store import Store
    from warroom.sessions.store.writer import Written

Report = Callable[[str], None]


class FramesAtResolve:
    def __init__(self, report: Report) -> None:
        self.report = report
        self._threads: list[threading.Thread] = []

    def _written(self, written: Written) -> None:
        before, after = written.before, written.store.incident
        if before is None or before.status is Status.RESOLVED:
            return
        if after.status is not Status.RESOLVED:
            return
        thread = threading.Thread(target=self.save, args=(Path(written.store.path),),
                                  name="warroom-frames", daemon=False)  # fmt: skip
        self._threads.append(thread)
        thread.start()

    def save(self, session: Path) -> Path | None:
        """The frames of ``session``'s span beside it; None when there was nothing to save."""
        from warroom.config import read_config
        from warroom.recording.export import NoFrames, save_frames
        from warroom.recording.settings import parse_record

        try:
            settings = parse_record(read_config())
            store = settings.store_spec()
            if isinstance(store, Path) and not store.is_file():
                return None  # no recorder on this host
            return save_frames(session, store, settings.lead_up_s)[0]
        except NoFrames:
            return None  # the recorder here does not keep this server (or did not then)
        except Exception as exc:  # a thread's failure is the user's one line, never a traceback
            from warroom.sanitize import one_line

            self.report(f"frames not saved beside {session.name}: {one_line(exc, 200)}")
            return None

    def wait(self, timeout: float | None = None) -> None:
        """For a command that reports before it exits: the copies started so far are done."""
        for thread in self._threads:
            thread.join(timeout)


def keep_frames(store: Store, report: Report) -> FramesAtResolve:
    saver = FramesAtResolve(report)
    store.observe(saver._written)
    return saver


def timeline_note(recorder: SessionRecorder) -> Report:
    """For the dashboard: the failure as an auto note on the timeline, queued on its Recorder
    (its writer thread; the timeline shows it when written), where the responders look."""

    def note(text: str) -> None:
        from warroom.sessions.model import Kind, Source, TimelineEntry
        from warroom.sessions.times import utcnow

        recorder.append_entry(TimelineEntry(at=utcnow(), text=text, kind=Kind.NOTE,
                                            author="warroom", source=Source.AUTO))  # fmt: skip

    return note
