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
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterable
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

__all__ = ["LazyRollups", "render_session"]

DecodeFailure = Callable[[Exception], Exception]

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
            first = list.__len__(self)  # their index among the file's rollups, for messages
            try:
                doc = tomllib.loads(b"".join(raw).decode("utf-8"))
                tables = block_list(doc, "samples")
                if set(doc) != {"samples"} or len(tables) != len(raw):
                    raise ValueError("the rollup blocks hold something other than rollups")
                rollups = [decode_rollup(table, first + i) for i, table in enumerate(tables)]
            except (UnicodeDecodeError, tomllib.TOMLDecodeError, FieldError, ValueError) as exc:
                raise (self._fail(exc) if self._fail is not None else exc) from None
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
