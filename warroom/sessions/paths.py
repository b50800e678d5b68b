"""Where session files live and which one a command means when none is named."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warroom.sessions.model import Incident, Status
from warroom.sessions.store import SessionError, load_header

SUFFIX = ".toml"


def sessions_dir() -> Path:
    """``$WARROOM_HOME``, else ``$XDG_DATA_HOME/warroom/incidents`` (``~/.local/share/...``)."""
    home = os.environ.get("WARROOM_HOME")
    if home:
        return Path(home).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "warroom" / "incidents"


def new_session_path(incident_id: str, directory: Path | None = None) -> Path:
    """A fresh file name for ``incident_id``; never one that already exists."""
    directory = directory or sessions_dir()
    candidate = directory / f"{incident_id}{SUFFIX}"
    n = 2
    while candidate.exists():
        candidate = directory / f"{incident_id}-{n}{SUFFIX}"
        n += 1
    return candidate


@dataclass(frozen=True, slots=True)
class Listed:
    path: Path
    incident: Incident | None  # header only; None when the file could not be read
    error: str | None = None


def list_sessions(directory: Path | None = None) -> list[Listed]:
    """Every session file in the directory, newest impact start first; broken files included."""
    directory = directory or sessions_dir()
    if not directory.is_dir():
        return []
    found: list[Listed] = []
    for path in directory.glob(f"*{SUFFIX}"):
        if not path.is_file():
            continue
        try:
            found.append(Listed(path, load_header(path)))
        except SessionError as exc:
            found.append(Listed(path, None, str(exc)))

    def newest_first(item: Listed) -> tuple[float, float]:
        started = item.incident.started_at.timestamp() if item.incident else 0.0
        return (started, item.path.stat().st_mtime)

    found.sort(key=newest_first, reverse=True)
    return found


def newest_unresolved(directory: Path | None = None) -> Path:
    """The session `note` and `status` use when no ``--session`` is given."""
    directory = directory or sessions_dir()
    for item in list_sessions(directory):
        if item.incident is not None and item.incident.status is not Status.RESOLVED:
            return item.path
    raise SessionError(
        f"no unresolved incident in {directory}; start one with "
        "`warroom new --title ...` or pass --session PATH"
    )
