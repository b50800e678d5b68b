"""A one-shot command's session (`note`, `status`, `new`): opened with its outbox when shared.

Nothing of sharing is imported for a session that is not shared: a note on it costs no more
than the note. Once the entry is on disk (the Store's fsync is the acknowledgement), one bounded
attempt publishes it; offline is a warning for the caller to print, not a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from warroom.sessions.store import Store, load_header

if TYPE_CHECKING:
    from warroom.sessions.share.outbox import Outbox


def open_session(
    path: Path, share: str | None, author: str
) -> tuple[Store, Outbox | None, str | None]:
    """The session, and its outbox when it is shared (or ``share`` starts sharing it)."""
    if share:  # one libpq cannot read fails here, before anything is written
        from warroom.sessions.share import client

        client.without_password(share)
    # Nothing here reads the rollups: left undecoded, they cost a long session's note little.
    store = Store.open(path, lazy=True)
    dsn = share or store.incident.share
    if not dsn:
        return store, None, None  # not shared: nothing of sharing is even imported
    from warroom.sessions.share import client
    from warroom.sessions.share.outbox import Outbox

    host = client.host_name()
    if store.incident.share:
        return store, Outbox.attach(store, host, author), dsn
    return store, client.start_sharing(store, dsn, host, author), dsn


def entry_author(author: str, path: Path, share: str | None) -> str:
    """In a shared incident an entry says where it was written too: ``alice@db-bastion-2``."""
    if not share and not load_header(path).share:
        return author
    from warroom.sessions.share import client

    return client.qualified(author)


def publish_once(outbox: Outbox, dsn: str, author: str, what: str) -> str | None:
    """One bounded attempt to publish what is pending; the warning to print when it failed."""
    from warroom.sessions.share import client

    result = client.try_publish(outbox, dsn, author)
    return None if result.ok else client.pending_warning(what, dsn, result.message)
