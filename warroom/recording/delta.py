"""What each server's next frame stores of its backends: a keyframe (every row) or a delta.

Both stores (the SQLite file and the ops PostgreSQL) write the same blobs, zlib'd JSON:
``{"k": rows}`` for a keyframe, ``{"c": changed rows, "g": keys gone}`` for a delta on the
server's current keyframe. A keyframe comes every ``key_every`` frames, after a frame whose
backends were unknown, after ``forget`` (a failed write: never build on a frame that may be
lost), and whenever the store asks for one (a new day's partition).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warroom.recording.frame import BackendRow

Key = tuple[int, float | None]  # (pid, backend start)


def pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


@dataclass(frozen=True, slots=True)
class Encoded:
    server: int
    rows: dict[Key, BackendRow] | None  # None: the backends were not known
    keyframe: bool
    blob: bytes | None
    key: int | None  # the keyframe a delta builds on; None for a keyframe (its own id)


class Deltas:
    """Each server's rows as last stored, to encode its next frame against."""

    def __init__(self, key_every: int) -> None:
        self.key_every = key_every
        self._rows: dict[int, dict[Key, BackendRow]] = {}
        self._key: dict[int, int] = {}  # each server's current keyframe id
        self._since_key: dict[int, int] = {}

    def encode(
        self, server: int, backends: Sequence[BackendRow] | None, new_key: bool = False
    ) -> Encoded:
        previous = self._rows.get(server)
        rows = None if backends is None else {r.key: r for r in backends}
        keyframe = (rows is None or previous is None or new_key
                    or self._since_key.get(server, 0) + 1 >= self.key_every)  # fmt: skip
        if rows is None:
            blob = None
        elif keyframe or previous is None:
            blob = pack({"k": [r.to_list() for r in rows.values()]})
        else:
            # Mostly the very same row objects (frame.Rows reuses them): identity first.
            changed = [r.to_list() for k, r in rows.items()
                       if (p := previous.get(k)) is not r and p != r]  # fmt: skip
            gone = [list(k) for k in previous if k not in rows]
            blob = pack({"c": changed, "g": gone})
        return Encoded(server, rows, keyframe, blob, None if keyframe else self._key[server])

    def stored(self, encoded: Encoded, key: int) -> None:
        """``encoded`` is written, building on keyframe ``key`` (its own id for a keyframe)."""
        server = encoded.server
        if encoded.rows is None:
            self._rows.pop(server, None)
            self._since_key.pop(server, None)
            return
        self._rows[server] = encoded.rows
        self._key[server] = key
        self._since_key[server] = 0 if encoded.keyframe else self._since_key[server] + 1

    def forget(self) -> None:
        """Drops what the next delta would build on: the next frame of each server is a key."""
        self._rows.clear()
        self._key.clear()
        self._since_key.clear()
