"""The store's errors, each a one-line message fit for ``warroom: error: ...``.

An OSError is never let out raw: it is worded here with the path and what was being done, as a
SessionDiskError that keeps the errno, so a caller can tell a full or failing disk (worth
waiting for) from a file that is not there without reading the message or the exception chain.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SessionDiskError", "SessionError", "SessionLocked", "os_error", "reason"]


class SessionError(Exception):
    """One-line message fit for `warroom: error: ...`: names the path and the line or field."""


class SessionLocked(SessionError):
    """Another process held the session's lock for longer than this writer waits."""


class SessionDiskError(SessionError):
    """The operating system refused a read or write of the session (the message says which).

    ``errno`` is the OSError's (None if it had none) and ``reason`` its text: ENOSPC and the
    like mean that waiting for room can help (the Recorder holds rollups then).
    """

    def __init__(self, message: str, errno: int | None, reason: str) -> None:
        super().__init__(message)
        self.errno = errno
        self.reason = reason

    def __reduce__(self) -> tuple[type[SessionDiskError], tuple[str, int | None, str]]:
        # Kept whole across a pickle (the default would call __init__ with the message alone).
        return type(self), (str(self), self.errno, self.reason)

    @classmethod
    def of(cls, message: str, exc: OSError) -> SessionDiskError:
        return cls(message, exc.errno, reason(exc))


def reason(exc: OSError) -> str:
    """The OS's words for ``exc`` (its strerror), else whatever it says."""
    return exc.strerror or str(exc)


def os_error(path: Path, exc: OSError, doing: str = "cannot read") -> SessionDiskError:
    """``exc`` worded for ``path``: a missing file or a directory said plainly, else ``doing``."""
    if isinstance(exc, FileNotFoundError):
        return SessionDiskError.of(f"no such session file: {path}", exc)
    if isinstance(exc, IsADirectoryError):
        return SessionDiskError.of(f"{path}: is a directory, not a session file", exc)
    return SessionDiskError.of(f"{path}: {doing}: {reason(exc)}", exc)
