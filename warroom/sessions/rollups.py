"""Sample rollups left as the file holds them until someone reads them (issue 8).

An 8-hour session holds 2,880 ``[[samples]]`` blocks, some 2.2 MiB of number-dense TOML that
takes most of a load to parse. ``warroom note`` and ``status`` only add an entry or change the
header: they open the session with ``Store.open(path, lazy=True)``, which keeps each rollup
block as the bytes it was read as, in a ``LazyRollups`` list.

``LazyRollups`` is a list: whoever reads it (iterates, indexes, asks its length, compares it)
gets every rollup, decoded and validated like a full load on that first use, and from then on it
is an ordinary list. Until then, a rewrite writes the blocks back byte for byte
(``render_session``) and blocks other writers append join the undecoded ones, in file order.
A block that a decode would refuse is never looked at by a writer that did not decode: it is
written back exactly as it was, and ``warroom check`` or any full read still names it.

Replay needs a few minutes of rollups for its first frame, not eight hours: ``blocks()`` hands
it the undecoded blocks as ``Blocks``, whose ``heads`` say each block's window and server from
its own lines, and which decodes any of them on demand (``sessions.recorded.Recording``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warroom.sessions.model import Incident, SampleRollup
from warroom.sessions.toml_codec import (
    FieldError,
    block_list,
    decode_rollup,
    render_block,
    render_document,
    rollup_table,
)

try:
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency
    import tomllib  # type: ignore[no-redef]

__all__ = ["Blocks", "LazyRollups", "RollupHead", "render_session"]

DecodeFailure = Callable[[Exception], Exception]
# The lines a block's head is read from. Blocks are one-line ``key = value`` lines (the store's
# split checks that before any block is kept undecoded), so these are the block's own keys.
_HEAD_LINES = re.compile(rb"^(?:\[\[samples\]\]|at = .*|seconds = .*|server = .*)$", re.M)


@dataclass(frozen=True, slots=True)
class RollupHead:
    """A rollup block not decoded yet: its place among the blocks, its window and server."""

    index: int
    at: datetime
    seconds: float
    server: str | None = None

    @property
    def end(self) -> datetime:
        return self.at + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Blocks:
    """Rollup blocks as read (bytes), decoded whole or a few at a time; ``first`` is the index
    of ``raw[0]`` among the file's rollups, for error messages."""

    raw: Sequence[bytes]
    first: int = 0
    fail: DecodeFailure | None = None

    def heads(self) -> list[RollupHead] | None:
        """Each block's window and server, read by the TOML reader from those lines alone;
        None when one does not say them plainly (a full decode then says what is wrong)."""
        try:
            lines = _HEAD_LINES.findall(b"".join(self.raw))
            tables = block_list(tomllib.loads(b"\n".join(lines).decode("utf-8")), "samples")
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError):
            return None
        if len(tables) != len(self.raw):
            return None
        heads: list[RollupHead] = []
        for i, t in enumerate(tables):
            at, seconds, server = t.get("at"), t.get("seconds"), t.get("server")
            if (not isinstance(at, datetime) or at.tzinfo is None
                    or type(seconds) not in (int, float)
                    or not (server is None or isinstance(server, str))):  # fmt: skip
                return None
            heads.append(RollupHead(i, at, float(seconds), server))
        return heads

    def decode_good(
        self, indexes: Sequence[int]
    ) -> tuple[dict[int, SampleRollup], Exception | None]:
        """``decode`` of ``indexes`` that keeps going past a bad block: the rollups of the
        blocks that decode, by index, and the first error (None when all did)."""
        try:
            return dict(zip(indexes, self.decode(indexes), strict=True)), None
        except Exception as first:  # what ``fail`` makes of it: then one block at a time
            plain = dataclasses.replace(self, fail=None)  # ``fail`` may read the whole file
            good: dict[int, SampleRollup] = {}
            for i in indexes:
                try:
                    good[i] = plain.decode([i])[0]
                except Exception:  # the first error is the one reported
                    continue
            return good, first

    def decode(self, indexes: Sequence[int] | None = None) -> list[SampleRollup]:
        """The rollups of the blocks at ``indexes`` (all by default), validated as a full load
        validates them; a bad one raises what ``fail`` makes of the error."""
        chosen = range(len(self.raw)) if indexes is None else indexes
        if not chosen:
            return []
        try:
            doc = tomllib.loads(b"".join(self.raw[i] for i in chosen).decode("utf-8"))
            tables = block_list(doc, "samples")
            if set(doc) != {"samples"} or len(tables) != len(chosen):
                raise ValueError("the rollup blocks hold something other than rollups")
            pairs = zip(chosen, tables, strict=True)
            return [decode_rollup(table, self.first + i) for i, table in pairs]
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError, ValueError) as exc:
            raise (self.fail(exc) if self.fail is not None else exc) from None


# Reading a LazyRollups changes it (the first read decodes), so two threads that only read must
# not both decode, nor see it half done; decodes are rare, one lock for all of them will do.
_DECODING = threading.Lock()


class LazyRollups(list[SampleRollup]):
    """A list of rollups whose last ``undecoded`` ones are still the file's bytes.

    Every list operation decodes them first (all at once: one TOML parse is far cheaper than
    one per block), so the list never shows a partial state. A decode that fails raises what
    ``fail`` makes of the error (the store turns it into the SessionError a full load gives,
    line and all) and leaves the blocks undecoded, so they are still written back unchanged.

    Built with ``LazyRollups(rollups)`` like a list, or ``LazyRollups.of_blocks(blocks)``.
    """

    __slots__ = ("_fail", "_raw")

    def __init__(self, rollups: Iterable[SampleRollup] = ()) -> None:
        super().__init__(rollups)
        self._raw: list[bytes] = []  # each one whole block: b"\n[[samples]]\n" + key lines
        self._fail: DecodeFailure | None = None

    @classmethod
    def of_blocks(cls, blocks: Iterable[bytes], fail: DecodeFailure | None = None) -> LazyRollups:
        out = cls()
        out._raw = list(blocks)
        out._fail = fail
        return out

    @property
    def undecoded(self) -> int:
        """How many blocks are still bytes (0 once anyone has read the list)."""
        return len(self._raw)

    def blocks(self) -> Blocks | None:
        """The blocks as they are now, to be read without decoding the list; None unless every
        rollup is still undecoded (the list stays as it is: the blocks are a snapshot)."""
        with _DECODING:
            if list.__len__(self) or not self._raw:
                return None
            return Blocks(list(self._raw), 0, self._fail)

    def render(self) -> bytes:
        """The rollups as a rewrite writes them: decoded ones encoded, the rest as read."""
        with _DECODING:
            decoded, raw = list(list.__iter__(self)), self._raw
        encoded = b"".join(render_block("samples", rollup_table(r)) for r in decoded)
        return encoded + b"".join(raw)

    def decode(self) -> None:
        """Decode the undecoded blocks now (any list operation does it on its own)."""
        if not self._raw:
            return
        with _DECODING:
            raw = self._raw
            if not raw:
                return  # another thread did it meanwhile
            # Their index among the file's rollups follows the decoded ones, for messages.
            rollups = Blocks(raw, list.__len__(self), self._fail).decode()
            # In this order: a reader that finds no undecoded blocks finds all rollups.
            list.extend(self, rollups)
            self._raw = []

    # -- the list operations that must not run on a partial list ------------------------------

    def extend(self, rollups: Iterable[SampleRollup]) -> None:
        if isinstance(rollups, LazyRollups) and not list.__len__(rollups):
            # Blocks another writer appended, still undecoded: they stay so, after ours.
            with _DECODING:
                self._raw = [*self._raw, *rollups._raw]
            return
        self.decode()
        list.extend(self, rollups)

    def clear(self) -> None:
        with _DECODING:
            self._raw = []
            list.clear(self)

    def copy(self) -> LazyRollups:
        """A copy that does not decode (Incident.copy uses it for every rewrite)."""
        with _DECODING:
            out = LazyRollups(list.__iter__(self))
            out._raw = list(self._raw)  # bytes: nothing to copy deeper, even for deepcopy
        out._fail = self._fail
        return out

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> LazyRollups:
        out = self.copy()
        list.__setitem__(out, slice(None), copy.deepcopy(list(list.__iter__(out)), memo))
        return out

    def __reduce__(self) -> tuple[type[list[SampleRollup]], tuple[list[SampleRollup]]]:
        # Pickled as what it holds: a plain list of rollups.
        return list, (list(self),)

    def __radd__(self, other: list[SampleRollup]) -> list[SampleRollup]:
        # list + LazyRollups would read this list's storage directly, before any decode.
        self.decode()
        return other + list(list.__iter__(self))


def _decoding_first(name: str) -> Callable[..., Any]:
    """``list.NAME`` run after decoding this list and any LazyRollups among the arguments
    (list's C code reads another list's storage directly, e.g. to compare)."""
    base = getattr(list, name)

    @functools.wraps(base)
    def method(self: LazyRollups, *args: Any, **kwargs: Any) -> Any:
        self.decode()
        for arg in args:
            if isinstance(arg, LazyRollups):
                arg.decode()
        return base(self, *args, **kwargs)

    return method


for _name in (
    "__getitem__", "__setitem__", "__delitem__", "__iter__", "__reversed__", "__len__",
    "__contains__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__add__",
    "__iadd__", "__mul__", "__rmul__", "__imul__", "__repr__", "append", "insert", "pop",
    "remove", "index", "count", "sort", "reverse",
):  # fmt: skip
    setattr(LazyRollups, _name, _decoding_first(_name))
del _name


def render_session(incident: Incident) -> bytes:
    """``render_document``, with rollups still undecoded written back exactly as read."""
    samples = incident.samples
    if not isinstance(samples, LazyRollups) or not samples.undecoded:
        return render_document(incident)
    # A rewrite writes the rollups after everything else (render_document), so the rest can be
    # rendered without them and the blocks follow unchanged. A shallow copy, not
    # dataclasses.replace: that would check the record again on the way.
    rest = copy.copy(incident)
    rest.samples = []
    return render_document(rest) + samples.render()
