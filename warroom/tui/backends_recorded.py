"""The backends view's source in replay: the recorder's frame at the cursor's moment, read-only.

The view (backends.py) asks for the moment on a thread worker whenever the cursor has moved
(it plays or seeks underneath), one read at a time; the signals, explain and pg_locks need a
live server and are refused here (the view hides their keys, this is the second line).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from warroom.collectors.backends import Backend, Signalled
from warroom.collectors.backends_explain import Plan, Unexplainable
from warroom.collectors.sample import BlockedBackend, Failure, FailureKind, LockRoot
from warroom.recording.browse import FrameReader, Moment
from warroom.recording.store_api import READ_ERRORS, describe
from warroom.tui.parts import BackendsFactory

READ_ONLY = "recorded backends are read-only: nothing is signalled or explained in a replay"


def _refused() -> Failure:
    return Failure(FailureKind.OTHER, READ_ONLY)


class RecordedBackends:
    """One server's recorded backends, at the moment ``clock`` says (the replay's cursor)."""

    def __init__(self, reader: FrameReader, server: str, clock: Callable[[], datetime]) -> None:
        self.reader = reader
        self.server = server
        self.clock = clock

    def read(self, at: datetime) -> Moment | Failure:
        """Runs on a worker thread: the frame in force at ``at``."""
        try:
            return self.reader.moment(self.server, at)
        except READ_ERRORS as exc:
            # describe: a DSN store is shown as host:port/dbname, never with its password.
            return Failure(FailureKind.OTHER, f"{describe(self.reader.path)}: {exc}")

    # -- the live view's source protocol: reads answer from the frame, writes are refused --

    def list_backends(self, limit: int | None = None) -> list[Backend] | Failure:
        found = self.read(self.clock())
        if isinstance(found, Failure):
            return found
        return (found.backends or [])[:limit]

    def signal_backends(self, *, pids: list[int] | None = None, application: str | None = None,
                        terminate: bool = False) -> int | Failure:  # fmt: skip
        return _refused()

    def signal_identities(
        self, targets: Sequence[Backend], *, terminate: bool = False
    ) -> Signalled | Failure:
        return _refused()

    def explain(self, query: str, *, truncated: bool = False) -> Plan | Unexplainable | Failure:
        return _refused()

    def lock_detail(
        self, roots: tuple[LockRoot, ...], waiting: tuple[BlockedBackend, ...]
    ) -> tuple[LockRoot, ...] | Failure:
        return _refused()


def recorded_backends_factory(
    reader: FrameReader, server: str, clock: Callable[[], datetime]
) -> BackendsFactory:
    """What a replay's ``Watched.backends_factory`` is when frames exist."""
    from warroom.tui.backends import BackendsScreen

    source = RecordedBackends(reader, server, clock)
    return lambda log: BackendsScreen(source, log, recorded=source)
