"""The session builder: the one place that knows a live incident from a replayed one.

It chooses the data source (live collectors on pollers, or a recording on a virtual clock),
the clock, the sink (the Recorder, or review notes only) and which actions apply; the App runs
the ``Session`` it is given. Watch, resume, replay and demo all run through ``run_dashboard``.

A replay with the flight recorder's frames (beside the record, or this host's store) gets a
read-only backends view at the cursor; the recorder's history with no incident
(``history_session``) is a replay of the store's rollups whose `n` starts an incident.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.collectors.alerts import AlertConfig
from warroom.sessions.model import Incident
from warroom.sessions.recorder import Recorder
from warroom.sessions.times import utcnow
from warroom.tui.keys import FRAMES, LIVE, RECORDER, REPLAY
from warroom.tui.parts import BackendsFactory, Drill, SampleSource, Session, Watched
from warroom.tui.signals import ExitGuard
from warroom.tui.sinks import RecorderSink
from warroom.tui.terminal import silence_output

if TYPE_CHECKING:
    from warroom.recording.browse import FrameReader, History
    from warroom.recording.store_api import StoreSpec
    from warroom.tui.app import WarroomApp
    from warroom.tui.playback import Playback


def live_session(
    recorder: Recorder,
    *,
    servers: Sequence[Watched] | None = None,
    postgres: SampleSource | None = None,
    bouncer: SampleSource | None = None,
    backends_factory: BackendsFactory | None = None,
    host: SampleSource | None = None,
    interval: float = 1.0,
    alerts: AlertConfig | None = None,
    author: str = "",
    clock: Callable[[], datetime] = utcnow,
    drill: Drill | None = None,
) -> Session:
    """A live (or resumed) incident: the collectors on the wall clock, everything recorded.

    One server is the N = 1 case: ``postgres``/``bouncer``/``backends_factory`` make it, with
    no name (it stays out of the record and the timeline)."""
    from warroom.tui.live import LiveSource

    if servers is None:
        servers = [Watched("", postgres, bouncer, backends_factory)]
    watched = list(servers)
    return Session(
        where=LIVE,
        source=LiveSource(watched, host, interval, alerts),
        sink=RecorderSink(recorder),
        clock=clock,
        servers=watched,
        host=host,
        interval=interval,
        alerts=alerts,
        author=author,
        drill=drill,
        # Test doubles and recordings have no such property: only a collector can say.
        host_is_db_host=bool(getattr(watched[0].postgres, "is_local", False)),
    )


def replay_session(
    path: Path,
    incident: Incident,
    *,
    alerts: AlertConfig | None = None,
    at: datetime | None = None,
    speed: float | None = None,
    author: str = "",
    frames: StoreSpec | None = None,
) -> Session:
    """A recorded incident on a virtual clock; only review notes are written. ``frames``: the
    recorder's store holding its frames (recording.browse.frames_for), for the backends view."""
    from warroom.sessions.follow import Follower
    from warroom.tui.playback import Playback
    from warroom.tui.replay import FramePools, RecordedSource
    from warroom.tui.sinks import ReviewSink

    playback = Playback(incident, alerts, at=at, speed=speed)
    servers = _replayed(playback, frames)
    pools = [w.bouncer if isinstance(w.bouncer, FramePools) else None for w in servers]
    source = RecordedSource(playback, Follower(path), pools)
    return Session(
        where=REPLAY if frames is None else FRAMES,
        source=source,
        sink=ReviewSink(path, lambda: playback.incident),
        clock=playback,
        servers=servers,
        alerts=alerts,
        author=author,
    )


def _replayed(playback: Playback, frames: StoreSpec | None) -> list[Watched]:
    """The replay's servers; with frames, each with its backends view at the cursor and, when
    the frames have PgBouncer figures, its pools at the cursor (found under the name the
    frames keep the server by: see recording.export.server_names)."""
    if frames is None:
        return [Watched(name or "") for name in playback.servers]
    from warroom.recording.browse import FrameReader
    from warroom.recording.export import server_names

    reader = FrameReader(frames)
    own = server_names(playback.incident)
    kept = dict(zip(own, server_names(playback.incident, reader.servers()), strict=True))
    return [_from_frames(name or "", kept.get(name or own[0], name or own[0]), reader, playback)
            for name in playback.servers]  # fmt: skip


def _from_frames(shown: str, kept: str, reader: FrameReader, playback: Playback) -> Watched:
    from warroom.tui.backends_recorded import recorded_backends_factory
    from warroom.tui.replay import FramePools

    pools = FramePools(reader, kept, playback) if reader.keeps_pools(kept) else None
    return Watched(shown, bouncer=pools,
                   backends_factory=recorded_backends_factory(reader, kept, playback))


def history_session(
    history: History,
    *,
    at: datetime,
    alerts: AlertConfig | None = None,
    lead_s: float = 1800.0,
    started: list[Path] | None = None,
) -> Session:
    """The recorder's history of one server with no incident: its rollups on a virtual clock,
    the backends view from its frames, and `n` starting an incident at the cursor (its path
    appended to ``started``, for the command to print at exit)."""
    from warroom.recording.browse import FrameReader, start_incident
    from warroom.tui.browse import HistorySink
    from warroom.tui.playback import Playback
    from warroom.tui.replay import FramePools, RecordedSource

    playback = Playback(history.incident, alerts, at=at)
    made = started if started is not None else []

    def start(moment: datetime) -> Path:
        path = start_incident(history, moment, lead_s)
        made.append(path)
        return path

    watched = _from_frames("", history.server, FrameReader(history.store), playback)
    pools = watched.bouncer if isinstance(watched.bouncer, FramePools) else None
    return Session(
        where=RECORDER,
        source=RecordedSource(playback, None, [pools], label="RECORDER"),
        sink=HistorySink(history.incident, history.store),
        clock=playback,
        servers=[watched],
        alerts=alerts,
        start_incident=start,
    )


def run_dashboard(session: Session, guard: ExitGuard | None = None) -> int:
    """Run the dashboard on ``session`` until it ends; the exit status (128 + the signal).

    An SSH drop (SIGHUP) or a kill (SIGTERM) ends it the way `q` does: the terminal restored
    and the partial rollup written. Notes are on disk already. ``guard``: one the caller has
    entered already (the demo's, which also stops the sandbox it started before the screen)."""
    from warroom.tui.app import WarroomApp

    app = WarroomApp(session)
    with contextlib.nullcontext(guard) if guard is not None else ExitGuard() as guard:
        guard.app = app
        try:
            app.run()
        finally:
            app.shutdown()  # idempotent: after q it has run already
            if session.sharer is not None:
                # One last publish attempt, bounded; after a signal, within its grace time
                # (what is not published stays in the outbox for the next command).
                session.sharer.stop(timeout=1.0 if guard.signum else 5.0)
    try:
        report_pending(app)
    except OSError:
        silence_output()  # the terminal is gone (an SSH drop): no one to tell
    return 128 + guard.signum if guard.signum else 0


def report_pending(app: WarroomApp) -> None:
    recorder = app.recorder
    if not app.kept_pending or recorder is None:
        return
    if recorder.kept_in is not None:
        print(
            f"warroom: warning: {app.kept_pending} write(s) could not reach the session; kept "
            f"in {recorder.kept_in}, the next writer adds them",
            file=sys.stderr,
        )
    else:  # not even the pending file could be written (the disk is still full): say so
        why = recorder.error or "the disk refused them"
        print(
            f"warroom: warning: {app.kept_pending} write(s) could not be saved anywhere ({why})",
            file=sys.stderr,
        )
