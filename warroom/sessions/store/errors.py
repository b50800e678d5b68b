"""The store's errors, each a one-line message fit for ``warroom: error: ...``.

An OSError is never let out raw: it is worded here with the path and what was being done.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SessionError", "SessionLocked", "os_error"]


class SessionError(Exception):
    """One-line message fit for `warroom: error: ...`: names the path and the line or field."""


class SessionLocked(SessionError):
    """Another process held the session's lock for longer than this writer waits."""


def os_error(path: Path, exc: OSError, doing: str = "cannot read") -> SessionError:
    """``exc`` worded for ``path``: a missing file or a directory said plainly, else ``doing``."""
    if isinstance(exc, FileNotFoundError):
        return SessionError(f"no such session file: {path}")
    if isinstance(exc, IsADirectoryError):
        return SessionError(f"{path}: is a directory, not a session file")
    return SessionError(f"{path}: {doing}: {exc.strerror or exc}")
