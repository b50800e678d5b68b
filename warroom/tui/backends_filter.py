"""Which backends the view shows and which a predicate action signals: the filter, the sort and
the predicate, as plain functions of the listed rows (no widgets, no database)."""

from __future__ import annotations

from dataclasses import dataclass

from warroom.collectors.backends import Backend
from warroom.formats import age
from warroom.sanitize import one_line

# `/` text: `field:text` looks in one field, plain text in all of them.
FIELDS = {
    "app": lambda b: b.application,
    "user": lambda b: b.user,
    "client": lambda b: b.client,
    "state": lambda b: b.state,
    "db": lambda b: b.database,
    "query": lambda b: b.query,
}
FILTER_HELP = "text in app, user, client, state, db or query; app:NAME (user:, client:, ...) " \
    "looks in one"  # fmt: skip

# Sort keys, each a column of ages, longest first; None: the server's order (the longer of the
# transaction's and the query's age: the culprit first).
SORTS: dict[str, str] = {"": "longest", "xact": "xact age", "query": "query age",
                         "state": "time in state"}  # fmt: skip
_SORT_AGE = {
    "xact": lambda b: b.xact_s,
    "query": lambda b: b.query_s,
    "state": lambda b: b.state_s,
}


def matches(backend: Backend, text: str) -> bool:
    """Case-insensitive substring; ``field:text`` restricts it to one field."""
    needle = text.strip()
    if not needle:
        return True
    field, sep, rest = needle.partition(":")
    getter = FIELDS.get(field.lower()) if sep else None
    if getter is not None:
        return rest.strip().lower() in getter(backend).lower()
    low = needle.lower()
    return any(low in get(backend).lower() for get in FIELDS.values())


def filtered(backends: list[Backend], text: str) -> list[Backend]:
    return [b for b in backends if matches(b, text)]


def next_sort(current: str) -> str:
    keys = list(SORTS)
    return keys[(keys.index(current) + 1) % len(keys)]


def sorted_by(backends: list[Backend], key: str) -> list[Backend]:
    get = _SORT_AGE.get(key)
    if get is None:
        return backends
    # Longest first; a backend without the age (no transaction open) last.
    return sorted(backends, key=lambda b: (get(b) is None, -(get(b) or 0.0)))


STATES = ("active", "idle", "idle in transaction", "idle in transaction (aborted)",
          "fastpath function call", "disabled")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Predicate:
    """What a `!` action signals. Names match exactly: a kill must not take a near namesake."""

    state: str = ""  # '' any; 'idle in transaction' also takes its (aborted) form
    min_idle_tx_s: float | None = None  # idle in transaction at least this long
    min_query_s: float | None = None  # the current (or last) query started at least this ago
    user: str = ""
    application: str = ""
    client: str = ""

    @property
    def empty(self) -> bool:
        return self == Predicate()

    def matches(self, b: Backend) -> bool:
        if self.state and not (
            b.state == self.state
            or (self.state == "idle in transaction" and b.idle_in_transaction)
        ):
            return False
        if self.min_idle_tx_s is not None and not (
            b.idle_in_transaction and (b.state_s or 0.0) >= self.min_idle_tx_s
        ):
            return False
        if self.min_query_s is not None and (b.query_s or 0.0) < self.min_query_s:
            return False
        return (
            (not self.user or b.user == self.user)
            and (not self.application or b.application == self.application)
            and (not self.client or b.client == self.client)
        )

    def describe(self) -> str:
        """One line for the question and the timeline: ``state idle in transaction, idle in
        transaction >= 1m 0s, user checkout``."""
        parts: list[str] = []
        if self.state:
            parts.append(f"state {self.state}")
        if self.min_idle_tx_s is not None:
            parts.append(f"idle in transaction >= {age(self.min_idle_tx_s)}")
        if self.min_query_s is not None:
            parts.append(f"query age >= {age(self.min_query_s)}")
        for name, value in (("user", self.user), ("application", self.application),
                            ("client", self.client)):  # fmt: skip
            if value:
                parts.append(f"{name} {one_line(value, 64)}")
        return ", ".join(parts) or "every backend"


def matching(backends: list[Backend], predicate: Predicate) -> list[Backend]:
    return [b for b in backends if predicate.matches(b)]
