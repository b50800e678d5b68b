"""Reading one TOML table strictly: typed access that names the field, and the FieldError
every refusal becomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, TypeVar

from warroom.sessions.model import ModelError
from warroom.sessions.times import TimeError

_E = TypeVar("_E", bound=StrEnum)


class FieldError(ValueError):
    """A value in the file the model cannot take.

    ``section``/``index``/``key`` locate it so the store can add a line number; ``missing``
    marks an absent required key (a block cut off mid-write looks exactly like that).
    """

    def __init__(
        self,
        message: str,
        *,
        section: str | None = None,
        index: int | None = None,
        key: str | None = None,
        missing: bool = False,
    ) -> None:
        super().__init__(message)
        self.section = section
        self.index = index
        self.key = key
        self.missing = missing


def describe(value: object) -> str:
    """A TOML value's type as a user would name it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, datetime):
        return "a local datetime" if value.tzinfo is None else "an offset datetime"
    if isinstance(value, date):
        return "a local date"
    if isinstance(value, time):
        return "a local time"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a table sits in the document, for error messages."""

    label: str  # e.g. "timeline[3]" or "incident"
    section: str | None
    index: int | None = None

    def error(self, key: str | None, message: str, missing: bool = False) -> FieldError:
        place = f"{self.label}.{key}" if key and self.label else (key or self.label)
        return FieldError(
            f"{place}: {message}",
            section=self.section,
            index=self.index,
            key=key,
            missing=missing,
        )


class _Reader:
    """Typed access to one table; remembers which keys were consumed to spot unknown ones."""

    def __init__(self, table: object, where: _Where) -> None:
        if not isinstance(table, dict):
            raise where.error(None, f"expected a table, got {describe(table)}")
        self.table: dict[str, Any] = table
        self.where = where
        self.seen: set[str] = set()

    def _get(self, key: str, required: bool) -> object:
        self.seen.add(key)
        if key not in self.table:
            if required:
                raise self.where.error(key, "missing", missing=True)
            return None
        return self.table[key]

    def _typed(self, key: str, required: bool, ok: Callable[[object], bool], want: str) -> Any:
        value = self._get(key, required)
        if value is not None and not ok(value):
            raise self.where.error(key, f"expected {want}, got {describe(value)}")
        return value

    def string(self, key: str, required: bool = True, default: str = "") -> str:
        value = self._typed(key, required, lambda v: isinstance(v, str), "a string")
        return default if value is None else value

    def integer(self, key: str, required: bool = True) -> int | None:
        return self._typed(
            key, required, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"
        )

    def number(self, key: str, required: bool = True) -> float | None:
        value = self._typed(
            key,
            required,
            lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "a number",
        )
        return None if value is None else float(value)

    def boolean(self, key: str, required: bool = True) -> bool | None:
        return self._typed(key, required, lambda v: isinstance(v, bool), "a boolean")

    def moment(self, key: str, required: bool = True) -> datetime | None:
        return self._typed(
            key,
            required,
            lambda v: isinstance(v, datetime) and v.tzinfo is not None,
            "an offset datetime",
        )

    def day(self, key: str, required: bool = True) -> date | None:
        return self._typed(
            key,
            required,
            lambda v: isinstance(v, date) and not isinstance(v, datetime),
            "a local date",
        )

    def strings(self, key: str, required: bool = True) -> tuple[str, ...]:
        """An array of strings; a wrong item is named by its place (``key[2]``)."""
        value = self._typed(key, required, lambda v: isinstance(v, list), "an array of strings")
        for index, item in enumerate(value or ()):
            if not isinstance(item, str):
                found = self.where.error(key, "")  # keyed so the store can name the line
                place = str(found).removesuffix(": ")
                found.args = (f"{place}[{index}]: expected a string, got {describe(item)}",)
                raise found
        return tuple(value or ())

    def choice(self, key: str, enum: type[_E], required: bool = True) -> _E | None:
        value = self.string(key, required, default="")
        if not required and key not in self.table:
            return None
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(member.value for member in enum)
            raise self.where.error(
                key, f"unknown value {value!r} (choose from {choices})"
            ) from None

    def sub(self, key: str, label: str, section: str) -> _Reader | None:
        value = self._get(key, required=False)
        if value is None:
            return None
        return _Reader(value, _Where(label, section))

    def done(self) -> None:
        for key in self.table:
            if key not in self.seen:
                raise self.where.error(key, "unknown key")


def _model(where: _Where, build: Callable[[], Any]) -> Any:
    """Run a model constructor, turning its refusals into a FieldError at ``where``."""
    try:
        return build()
    except (ModelError, TimeError, ValueError) as exc:
        raise where.error(None, str(exc)) from None
