"""Following a session file read-only: the web page and replay watch a file others write.

Nothing here writes: no lock file is created (the shared lock is taken only when a writer made
one already), nothing is repaired, so following a session leaves it exactly as its writer made
it. Appended blocks are read on their own, which keeps a note's way to the reader short in hour
8, when a whole load costs hundreds of milliseconds; anything else (a rewrite, a torn tail, a
shrink) re-reads the whole file.
"""

from __future__ import annotations

import os
from pathlib import Path

from warroom.sessions import fileio
from warroom.sessions.model import Incident
from warroom.sessions.store import SessionError, load, read_appended, repeats_ids

StatKey = tuple[int, int, int, int, int]


def stat_key(path: Path) -> StatKey | None:
    """What changes when the file does; None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class Follower:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = stat_key(path)
        self._incident: Incident | None = None
        self._ident: tuple[int, int] | None = None
        self._offset: int | None = None  # bytes of whole blocks behind _incident; None: reload

    def changed(self) -> bool:
        """One stat: has the file changed since the last ``read``? (Records what it saw.)"""
        key = stat_key(self.path)
        if key == self.seen:
            return False
        self.seen = key
        return True

    def read_if_changed(self) -> Incident | None:
        """The incident when the file changed since the last look, else None.

        Stat first, then read: a change during the read shows as another change next time.
        SessionError when it changed but cannot be read now (gone, or broken for a moment);
        a file that cannot be read is looked at again next time.
        """
        if not self.changed():
            return None
        if self.seen is None:
            raise SessionError(f"{self.path}: the session file has gone away")
        try:
            return self.read()
        except SessionError:
            self.seen = None
            raise

    def read(self) -> Incident:
        """The incident as it is now; SessionError when the file cannot be read."""
        try:
            with fileio.locked(self.path, exclusive=False, create=False):
                appended = self._read_appended()
                if appended is not None:
                    return appended
                return self._read_whole()
        except fileio.LockTimeout as exc:
            raise SessionError(f"{self.path}: cannot read: {exc.strerror}") from None
        except FileNotFoundError:
            raise SessionError(f"no such session file: {self.path}") from None

    def _read_whole(self) -> Incident:
        # Under the shared lock no writer appends, so this stat matches what load reads.
        st = os.stat(self.path)
        loaded = load(self.path)
        self._incident = loaded.incident
        self._ident = (st.st_dev, st.st_ino)
        self._offset = None if loaded.torn is not None else st.st_size
        return loaded.incident

    def _read_appended(self) -> Incident | None:
        if self._incident is None or self._offset is None or self._ident is None:
            return None
        st = os.stat(self.path)
        if (st.st_dev, st.st_ino) == self._ident and st.st_size == self._offset:
            return self._incident
        found = read_appended(self.path, self._ident, self._offset)
        if found is None:
            return None
        blocks, st = found
        if repeats_ids(self._incident, blocks):
            return None  # the whole read keeps the first and names the repeat's line
        incident = self._incident.copy()
        incident.timeline.extend(blocks["timeline"])
        incident.action_items.extend(blocks["action_items"])
        incident.samples.extend(blocks["samples"])
        self._incident = incident
        self._offset = st.st_size
        return incident
